from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch.utils.tensorboard import SummaryWriter

from agents.tensorboard_logs import drop_events_after


def steps(folder, tag="loss"):
    events = EventAccumulator(str(folder))
    events.Reload()
    return [event.step for event in events.Scalars(tag)]


def test_events_after_the_checkpoint_are_dropped(tmp_path):
    folder = tmp_path / "tb" / "tb_1"
    writer = SummaryWriter(str(folder))
    for step in range(0, 100, 10):
        writer.add_scalar("loss", step / 10, step)
    writer.close()
    assert drop_events_after(tmp_path / "tb", 45) == 5
    assert steps(folder) == [0, 10, 20, 30, 40]
    assert drop_events_after(tmp_path / "tb", 45) == 0  # nothing more to drop
    writer = SummaryWriter(str(folder))  # the resumed run goes on from 45
    writer.add_scalar("loss", 5.0, 50)
    writer.close()
    assert steps(folder) == [0, 10, 20, 30, 40, 50]
    assert drop_events_after(tmp_path / "missing", 0) == 0
