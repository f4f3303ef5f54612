// The labelling page of mammad-envs (`mammad label`): shows two melodies of one context as
// piano rolls, plays them with WebAudio oscillators over their accompaniment, and posts the
// choice. No dependencies; served from the package.
//
// State for tests and scripts, on document.body.dataset:
//   state     "loading" | "ready" | "sending" | "done" | "waiting" | "error" ("waiting": the
//             RLHF loop's round is labelled, the page asks again until the next one comes)
//   round     the loop's round shown ("" for `mammad label`)
//   pair      token of the pair shown ("" when none)
//   audio     "started" once an AudioContext exists, then its state ("running", "suspended")
//   played    the side last played ("a" or "b"); voices: oscillators it scheduled
//   playing   the side playing now (absent when silent); sounding: oscillators not yet ended
//   last      the last choice recorded; labelled / skipped: this session's counts
//   storeLabelled / storeSkipped: the store's labelled (a skip is no label) and skipped pairs
"use strict";

(() => {
  const HOLD = -2;
  const REST = -1;
  const KEYS = { a: "a", b: "b", t: "tie", s: "skip" };
  const NAMES = { a: "A is better", b: "B is better", tie: "a tie", skip: "skipped" };
  const COLOURS = { a: "#1f6fd1", b: "#d9691e" };
  const WAIT_SECONDS = 2;  // how often a waiting page asks for the loop's next round

  const body = document.body;
  const session = document.querySelector('meta[name="session"]').content;
  const heartbeat = Number(document.querySelector('meta[name="heartbeat"]').content) || 60;
  const $ = (id) => document.getElementById(id);

  // The two melodies' sections, made from the page's template: in ids and data-side, SIDE
  // becomes the lower-case side ("a", "b"); in text and aria-label, the upper-case one.
  ["a", "b"].forEach((side) => {
    const section = $("melody-template").content.firstElementChild.cloneNode(true);
    [section, ...section.querySelectorAll("*")].forEach((element) => {
      [...element.attributes].forEach((attribute) => {
        const shown = attribute.name === "aria-label" ? side.toUpperCase() : side;
        attribute.value = attribute.value.replaceAll("SIDE", shown);
      });
      element.childNodes.forEach((node) => {
        if (node.nodeType === Node.TEXT_NODE) {
          node.textContent = node.textContent.replaceAll("SIDE", side.toUpperCase());
        }
      });
    });
    $("pair").append(section);
  });

  let current = null;   // the pair shown: {token, a, b, context, accompaniment}
  let bpm = 120;
  let busy = false;     // a label is being sent: further choices wait
  let audio = null;     // the AudioContext, made on the first play (a user gesture)
  let master = null;
  let voices = [];
  let sounding = 0;     // oscillators started and not yet ended
  let nextSide = "a";   // what Space plays next
  let frame = 0;        // the playhead's animation frame
  let counts = { labelled: 0, skipped: 0 };

  function setState(state) {
    body.dataset.state = state;
    const disabled = state !== "ready";
    document.querySelectorAll("#choices button, button.play").forEach((button) => {
      button.disabled = disabled;
    });
  }

  function say(text) {
    $("status").textContent = text;
  }

  // ------------------------------------------------------------------ melodies

  // Events (pitch, HOLD, REST per 16th) -> notes {pitch, start, end}.
  function notesOf(events) {
    const notes = [];
    let open = null;
    events.forEach((event, step) => {
      if (event === HOLD) return;
      if (open) {
        open.end = step;
        notes.push(open);
        open = null;
      }
      if (event !== REST && event >= 0) open = { pitch: event, start: step, end: step + 1 };
    });
    if (open) {
      open.end = events.length;
      notes.push(open);
    }
    return notes;
  }

  function accompanimentNotes() {
    return current.accompaniment.map(([pitch, start, end]) => ({ pitch, start, end }));
  }

  // ------------------------------------------------------------------ piano rolls

  function pitchRange() {
    const pitches = [
      ...notesOf(current.a.events), ...notesOf(current.b.events), ...accompanimentNotes(),
    ].map((note) => note.pitch);
    if (!pitches.length) return [60, 72];
    return [Math.min(...pitches) - 2, Math.max(...pitches) + 2];
  }

  function draw(side, playhead) {
    const canvas = $(`roll-${side}`);
    const context = canvas.getContext("2d");
    const width = canvas.width;
    const height = canvas.height;
    context.clearRect(0, 0, width, height);
    if (!current) return;
    const steps = current.context.steps;
    const [low, high] = pitchRange();
    const rows = high - low + 1;
    const x = (step) => (step / steps) * width;
    const y = (pitch) => ((high - pitch) / rows) * height;
    const rowHeight = height / rows;
    for (let pitch = low; pitch <= high; pitch += 1) {  // black keys shaded
      if ([1, 3, 6, 8, 10].includes(pitch % 12)) {
        context.fillStyle = "#eef0f4";
        context.fillRect(0, y(pitch), width, rowHeight);
      }
    }
    for (let step = 0; step <= steps; step += 1) {  // 16ths, beats, bars
      context.strokeStyle = step % 16 === 0 ? "#8a93a3" : step % 4 === 0 ? "#c3c9d3" : "#e6e9ee";
      context.lineWidth = step % 16 === 0 ? 2 : 1;
      context.beginPath();
      context.moveTo(x(step) + 0.5, 0);
      context.lineTo(x(step) + 0.5, height);
      context.stroke();
    }
    const thick = Math.max(rowHeight - 1, 4);
    const block = (note, colour) => {
      context.fillStyle = colour;
      context.fillRect(x(note.start) + 1, y(note.pitch) + (rowHeight - thick) / 2,
        Math.max(x(note.end) - x(note.start) - 2, 2), thick);
    };
    accompanimentNotes().forEach((note) => block(note, "rgba(120, 128, 142, 0.45)"));
    notesOf(current[side].events).forEach((note) => block(note, COLOURS[side]));
    if (playhead !== undefined) {
      context.strokeStyle = "#111";
      context.lineWidth = 2;
      context.beginPath();
      context.moveTo(x(playhead), 0);
      context.lineTo(x(playhead), height);
      context.stroke();
    }
  }

  // The octaves' Cs, in the column left of the roll (HTML, so notes never cover them).
  function nameOctaves(side) {
    const list = $(`octaves-${side}`);
    list.replaceChildren();
    if (!current) return;
    const [low, high] = pitchRange();
    const rows = high - low + 1;
    for (let pitch = high; pitch >= low; pitch -= 1) {
      if (pitch % 12 !== 0) continue;
      const item = document.createElement("li");
      item.textContent = `C${pitch / 12 - 1}`;
      item.dataset.pitch = String(pitch);
      item.style.setProperty("--row-middle", `${((high - pitch + 0.5) / rows) * 100}%`);
      list.append(item);
    }
  }

  function render() {
    const { accompaniment, key, steps } = current.context;
    const bars = steps / 16;
    $("context").textContent = [
      accompaniment ? `accompaniment: ${accompaniment}` : "no accompaniment",
      key ? `key: ${key}` : "key not given",
      `${steps} sixteenths (${Number.isInteger(bars) ? bars : bars.toFixed(2)} bars)`,
    ].join(" \u00b7 ");
    draw("a");
    draw("b");
    nameOctaves("a");
    nameOctaves("b");
  }

  // ------------------------------------------------------------------ sound

  function ensureAudio() {
    if (!audio) {
      const Context = window.AudioContext || window.webkitAudioContext;
      audio = new Context();
      master = audio.createGain();
      master.gain.value = 0.5;
      master.connect(audio.destination);
      body.dataset.audio = "started";
      audio.addEventListener("statechange", () => { body.dataset.audio = audio.state; });
    }
    if (audio.state === "suspended") audio.resume();
  }

  function voice(pitch, start, duration, type, level) {
    const oscillator = audio.createOscillator();
    const gain = audio.createGain();
    oscillator.type = type;
    oscillator.frequency.value = 440 * Math.pow(2, (pitch - 69) / 12);
    const release = Math.min(0.03, duration / 3);
    gain.gain.setValueAtTime(0, start);
    gain.gain.linearRampToValueAtTime(level, start + 0.01);
    gain.gain.setValueAtTime(level, start + duration - release);
    gain.gain.linearRampToValueAtTime(0, start + duration);
    oscillator.connect(gain).connect(master);
    oscillator.addEventListener("ended", () => {
      sounding -= 1;
      body.dataset.sounding = String(sounding);
      oscillator.disconnect();
    });
    oscillator.start(start);
    oscillator.stop(start + duration + 0.01);
    sounding += 1;
    voices.push(oscillator);
  }

  // Each Play button says Stop while its melody plays.
  function showPlaying(side) {
    document.querySelectorAll("button.play").forEach((button) => {
      const playing = button.dataset.side === side;
      const name = button.dataset.side.toUpperCase();
      button.textContent = playing ? `\u25a0 Stop ${name}` : `\u25b6 Play ${name}`;
      button.setAttribute("aria-pressed", String(playing));
    });
  }

  function stop() {
    if (audio && voices.length) {  // silence at once: cut the old voices off the speakers
      const now = audio.currentTime;
      voices.forEach((oscillator) => {
        try { oscillator.stop(now); } catch (error) { /* already stopped */ }
      });
      master.disconnect();
      master = audio.createGain();
      master.gain.value = 0.5;
      master.connect(audio.destination);
    }
    voices = [];
    cancelAnimationFrame(frame);
    delete body.dataset.playing;
    showPlaying(null);
    document.querySelectorAll(".melody").forEach((section) => section.classList.remove("playing"));
    if (current) {
      draw("a");
      draw("b");
    }
  }

  function play(side) {
    if (!current) return;
    ensureAudio();
    stop();
    const step = 60 / bpm / 4;
    const begin = audio.currentTime + 0.05;
    notesOf(current[side].events).forEach((note) => {
      voice(note.pitch, begin + note.start * step, (note.end - note.start) * step, "triangle", 0.3);
    });
    accompanimentNotes().forEach((note) => {
      voice(note.pitch, begin + note.start * step, (note.end - note.start) * step, "sine", 0.08);
    });
    body.dataset.played = side;
    body.dataset.playing = side;
    body.dataset.voices = String(voices.length);
    body.dataset.sounding = String(sounding);
    showPlaying(side);
    nextSide = side === "a" ? "b" : "a";
    $(`melody-${side}`).classList.add("playing");
    const steps = current.context.steps;
    const token = current.token;
    const tick = () => {
      if (!current || current.token !== token) return;
      const position = (audio.currentTime - begin) / step;
      if (position >= steps) {
        stop();
        return;
      }
      draw(side, Math.max(position, 0));
      frame = requestAnimationFrame(tick);
    };
    frame = requestAnimationFrame(tick);
  }

  // ------------------------------------------------------------------ the server

  function showProgress(progress) {
    const store = progress.store;
    if (progress.session) counts = progress.session;
    body.dataset.labelled = String(counts.labelled);
    body.dataset.skipped = String(counts.skipped);
    body.dataset.storeLabelled = String(store.labelled);
    body.dataset.storeSkipped = String(store.skipped);
    $("progress").textContent =
      `This session: ${counts.labelled} labelled, ${counts.skipped} skipped \u00b7 ` +
      `store: ${store.labelled} of ${store.pairs} pairs labelled, ${store.skipped} skipped ` +
      `(${store.unlabelled} to go)`;
  }

  function showModel(model, labeler) {
    let text = "No model yet: pairs are chosen at random.";
    if (model.loaded) {
      text = model.labels === null
        ? "A reward model chooses the pairs it is least sure of."
        : `Model trained on ${model.labels} labels; it chooses the pairs it is least sure of.`;
    }
    $("model").textContent = `${text} Labelling as ${labeler}.`;
  }

  // The RLHF loop's round (`mammad rlhf --labeler human`): which one, and how far it is.
  function showRound(round, progress) {
    body.dataset.round = round === null ? "" : String(round);
    $("round").hidden = round === null;
    if (round === null || !progress) return;
    $("round").textContent =
      `Round ${round} of the RLHF loop: ${progress.labelled + progress.skipped} of ` +
      `${progress.pairs} pairs answered (${progress.skipped} skipped); the loop goes on ` +
      "once every pair has an answer.";
  }

  // How sure the reward model is about the pair shown.
  function showCertainty(round, model, pair) {
    const line = $("certainty");
    let text = "";
    if (pair && pair.model) {
      const sure = pair.model.a >= 0.5 ? "A" : "B";
      const share = Math.round(100 * Math.max(pair.model.a, 1 - pair.model.a));
      text = share === 50 ? "The model cannot tell A from B (50% each)"
        : `The model prefers ${sure} (${share}% sure)`;
      if (pair.model.disagreement !== null) {
        text += `; its members disagree \u00b1${pair.model.disagreement.toFixed(2)}`;
      }
      text += ".";
    } else if (pair && model.loaded) {
      text = "The model cannot score this pair.";
    } else if (pair && round !== null) {
      text = `No model yet in round ${round}: your labels train the first one.`;
    }
    line.textContent = text;
    line.hidden = !text;
  }

  async function loadNext() {
    const waiting = body.dataset.state === "waiting";
    setState("loading");
    let data;
    try {
      const response = await fetch("/api/next", { headers: { "X-Session": session },
                                                  cache: "no-store" });
      data = await response.json();
      if (!response.ok) throw new Error(data.error || `error ${response.status}`);
    } catch (error) {
      say(waiting ? "The loop has stopped (its server is gone): nothing more to label."
        : `Cannot load the next pair: ${error.message}`);
      setState("error");
      return;
    }
    stop();
    bpm = data.bpm || 120;
    const round = data.round === undefined ? null : data.round;
    showModel(data.model, data.labeler);
    showProgress(data.progress);
    showRound(round, data.progress.round);
    current = data.pair;
    showCertainty(round, data.model, current);
    nextSide = "a";
    if (!current) {
      body.dataset.pair = "";
      $("context").textContent = "";
      ["a", "b"].forEach((side) => { draw(side); nameOctaves(side); });  // empty rolls
      $(round === null ? "done" : "waiting").hidden = false;
      if (round === null) {
        setState("done");
      } else {
        setState("waiting");
        setTimeout(loadNext, WAIT_SECONDS * 1000);
      }
      return;
    }
    $("waiting").hidden = true;
    $("done").hidden = true;
    body.dataset.pair = current.token;
    render();
    setState("ready");
  }

  async function choose(choice) {
    if (!current || busy || body.dataset.state !== "ready") return;
    busy = true;
    stop();
    setState("sending");
    const token = current.token;
    try {
      const response = await fetch("/api/label", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ pair: token, choice, session }),
      });
      const data = await response.json().catch(() => ({}));
      if (response.ok) {
        body.dataset.last = choice;
        if (data.progress) showProgress(data.progress);
        say(`Recorded: ${NAMES[choice]}.`);
        await loadNext();
      } else if (response.status === 409) {
        say(`Someone labelled that pair already (${data.label}); here is the next one.`);
        await loadNext();
      } else if (response.status === 403) {
        say(`${data.error || "This session has expired"}.`);
        setState("error");
      } else {
        say(data.error || `The server refused the label (error ${response.status}).`);
        setState("ready");
      }
    } catch (error) {
      say(`Cannot reach the server: ${error.message}`);
      setState("error");
    } finally {
      busy = false;
    }
  }

  // ------------------------------------------------------------------ controls

  document.querySelectorAll("button.play").forEach((button) => {
    button.addEventListener("click", () => {
      if (body.dataset.playing === button.dataset.side) stop();
      else play(button.dataset.side);
    });
  });
  document.querySelectorAll("#choices button").forEach((button) => {
    button.addEventListener("click", () => choose(button.dataset.choice));
  });
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key.toLowerCase();
    if (key === " " || key === "spacebar") {
      event.preventDefault();  // neither scroll nor press a focused button
      if (!event.repeat) play(nextSide);
    } else if (key === "escape") {
      stop();
    } else if (Object.hasOwn(KEYS, key)) {
      event.preventDefault();
      if (!event.repeat) choose(KEYS[key]);
    }
  });
  document.addEventListener("keyup", (event) => {
    if (event.key === " ") event.preventDefault();
  });

  // The heartbeat keeps this page's session alive on the server while the page is open.
  async function beat() {
    try {
      const response = await fetch("/api/alive", { method: "POST", cache: "no-store",
                                                   headers: { "X-Session": session } });
      if (response.status === 403) {
        const data = await response.json().catch(() => ({}));
        say(`${data.error || "This session has expired: reload the page"}.`);
        stop();
        setState("error");
      }
    } catch (error) { /* the server is away for now: the next beat tries again */ }
  }
  setInterval(beat, heartbeat * 1000);

  setState("loading");
  loadNext();
})();
