"""The human-feedback loop: melodies to label, people and programs labelling them, RLHF.

It sits above ``agents`` (it may import :mod:`mammad_envs`, :mod:`rewards` and :mod:`agents`;
none of those imports it). The preference store and the reward model it fills and trains are
:mod:`rewards.preferences`.

* :mod:`feedback.pool`: candidate melodies from a folder of MIDI files, a run's policy or the
  Note-RNN, into the store; and the pairs the labelling page shows (:func:`schedule_pairs
  <feedback.pool.schedule_pairs>`).
* :mod:`feedback.labelling`: the labelling page of ``mammad label`` (a Starlette app, the
  ``label`` extra), with its page, script and style sheet in ``feedback/static/``.
* :mod:`feedback.labelers`: synthetic labelers (``synthetic:<reward>``, ``module:function``)
  with Bradley-Terry noise, and what the loop needs of any labeler (``label_pairs``).
* :mod:`feedback.human`: a person labelling the loop's rounds on the labelling page
  (``mammad rlhf --labeler human``).
* :mod:`feedback.rlhf`: the loop of ``mammad rlhf``: sample, label, learn the reward, fine-tune
  the Note-RNN policy under KL control (one round: :mod:`feedback.rlhf_round`; which pairs:
  :mod:`feedback.pairs`).
* :mod:`feedback.oracle`: what a loop is measured against: the same fine-tuning on the taste
  itself, and best-of-n sampling of the Note-RNN.

See ``docs/rlhf.md``.
"""
