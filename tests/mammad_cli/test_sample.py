"""`mammad sample`: MIDI, piano-roll PNG and WAV of a trained model."""



from mammad_cli import main


def test_sample_writes_midi_png_and_wav(ppo_run, tmp_path, capsys):
    main(["sample", str(ppo_run / "model.zip"), "-n", "3", "--out", str(tmp_path / "s")])
    files = sorted(p.suffix for p in (tmp_path / "s").iterdir())
    assert files == [".mid"] * 3 + [".png"] * 3 + [".wav"] * 3
    assert "3 melodies" in capsys.readouterr().out
    main(["sample", str(ppo_run), "-n", "1", "--out", str(tmp_path / "n"), "--audio", "numpy"])
    assert (tmp_path / "n" / "sample_000.wav").stat().st_size > 1000
