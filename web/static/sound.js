// Leitai projector sound: lobby music and countdown ticks, all synthesized
// with WebAudio (nothing is fetched). Only the screen loads this file; the
// phones stay silent. Browsers start audio suspended until someone clicks or
// presses a key on the page, so the state is "blocked" until then.
"use strict";

(function (global) {
  const KEY = "leitai.screen.muted";
  const AC = global.AudioContext || global.webkitAudioContext;
  let ctx = null, master = null;
  let muted = localStorage.getItem(KEY) === "1";
  let wantMusic = false, nextAt = 0, step = 0;
  const played = { notes: 0, ticks: 0 };
  const listeners = [];

  // A pentatonic tune (C D E G A) over a plucked bass, eighth notes at 112 bpm.
  const EIGHTH = 60 / 112 / 2;
  const C4 = 261.63;
  const semis = { C: 0, D: 2, E: 4, G: 7, A: 9 };
  const hz = (n, oct) => C4 * Math.pow(2, semis[n] / 12 + oct);
  const TUNE = "E G A G E D C D E G E D C - D - E G A C A G E G A G E D C - - -".split(" ");
  const BASS = ["C", "C", "A", "A", "G", "G", "C", "G"];

  function start() {
    if (ctx || !AC) return;
    try { ctx = new AC(); } catch (e) { ctx = null; return; }
    master = ctx.createGain();
    master.gain.value = muted ? 0 : 0.35;
    master.connect(ctx.destination);
    ctx.onstatechange = notify;
  }

  function state() {
    if (muted) return "muted";
    if (!ctx) return "off";
    return ctx.state === "running" ? "on" : "blocked";
  }
  function notify() { const s = state(); listeners.forEach((f) => f(s)); }

  // tone plays one note with a short attack and an exponential fade.
  function tone(freq, at, dur, type, level) {
    const o = ctx.createOscillator();
    const g = ctx.createGain();
    o.type = type;
    o.frequency.value = freq;
    g.gain.setValueAtTime(0.0001, at);
    g.gain.exponentialRampToValueAtTime(level, at + 0.012);
    g.gain.exponentialRampToValueAtTime(0.0001, at + dur);
    o.connect(g);
    g.connect(master);
    o.start(at);
    o.stop(at + dur + 0.02);
  }

  // schedule keeps the tune queued a little ahead of the audio clock.
  function schedule() {
    if (!wantMusic || state() !== "on") return;
    const now = ctx.currentTime;
    if (nextAt < now) nextAt = now + 0.05;
    while (nextAt < now + 0.3) {
      const n = TUNE[step % TUNE.length];
      if (n !== "-") { tone(hz(n, step % 32 >= 24 ? 1 : 0), nextAt, EIGHTH * 1.6, "triangle", 0.22); played.notes++; }
      if (step % 4 === 0) tone(hz(BASS[(step / 4) % BASS.length], -2), nextAt, EIGHTH * 3, "sine", 0.3);
      step++;
      nextAt += EIGHTH;
    }
  }
  setInterval(schedule, 100);

  const Sound = {
    played: played,
    state: state,
    onChange: (f) => { listeners.push(f); f(state()); },
    // music turns the lobby tune on or off.
    music: (on) => {
      if (on === wantMusic) return;
      wantMusic = on;
      step = 0;
      nextAt = 0;
      schedule();
    },
    // tick plays one countdown tick; the last one (go) is higher.
    tick: (last) => {
      if (state() !== "on") return;
      const at = ctx.currentTime + 0.01;
      tone(last ? 1318.5 : 880, at, last ? 0.35 : 0.09, "square", last ? 0.18 : 0.12);
      played.ticks++;
    },
    toggle: () => {
      muted = !muted;
      localStorage.setItem(KEY, muted ? "1" : "0");
      if (master) master.gain.value = muted ? 0 : 0.35;
      if (!muted && ctx && ctx.state !== "running") ctx.resume().then(notify, notify);
      notify();
    },
    // unlock resumes the audio on a user gesture.
    unlock: () => {
      if (ctx && ctx.state !== "running") ctx.resume().then(notify, notify);
    }
  };

  start();
  global.addEventListener("pointerdown", Sound.unlock, true);
  global.addEventListener("keydown", Sound.unlock, true);
  global.LeitaiSound = Sound;
})(window);
