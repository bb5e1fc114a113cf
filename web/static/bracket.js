// Leitai bracket page (/bracket?id=…): public and made for a projector. It
// shows the qualifier's top while the qualifier runs, the knockout rounds
// as they fire (seats, scores, who went through and how), the final's PIN
// for the hall, and the podium once the final is decided. It polls the
// public view every two seconds, so it follows the tournament live.
"use strict";

(function () {
  const L = window.Leitai;
  const $ = (id) => document.getElementById(id);
  const POLL_MS = 2000;
  const I = new L.I18n({
    zh: {
      qualifier_top: "资格赛排行", podium: "总成绩", stale: "连接中断，正在重试…", no_id: "链接缺少赛事编号（?id=…）",
      qualified: "已有 {n} 人参加资格赛", round: "第 {n} 轮", final: "决赛", semi: "半决赛",
      st_scheduled: "未开始", st_started: "进行中", st_finished: "已结束",
      by_bye: "轮空", by_walkover: "对手弃权", by_score: "得分", by_time: "用时", by_sudden_death: "加赛",
      live: "比赛中", sudden: "加赛中", empty: "轮空", pin: "决赛 PIN {pin}", place: "第 {n} 名",
      ph_qualifier: "资格赛进行中", ph_knockout: "淘汰赛", ph_done: "比赛结束", pts: "分"
    },
    en: {
      qualifier_top: "Qualifier", podium: "Final standings", stale: "Connection lost, retrying…", no_id: "The link has no tournament id (?id=…)",
      qualified: "{n} players in the qualifier", round: "Round {n}", final: "Final", semi: "Semi-finals",
      st_scheduled: "scheduled", st_started: "live", st_finished: "finished",
      by_bye: "bye", by_walkover: "walkover", by_score: "score", by_time: "time", by_sudden_death: "sudden death",
      live: "LIVE", sudden: "SUDDEN DEATH", empty: "bye", pin: "Final PIN {pin}", place: "Place {n}",
      ph_qualifier: "Qualifier open", ph_knockout: "Knockout", ph_done: "Finished", pts: "pts"
    }
  });
  const params = new URLSearchParams(location.search + "&" + location.hash.replace(/^#/, ""));
  const id = params.get("id") || "";

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  const secs = (ms) => (ms / 1000).toFixed(1) + "s";

  let last = null;
  function render(v) {
    last = v;
    document.title = v.title + " · " + (I.lang === "zh" ? "对阵图" : "Bracket");
    $("title").textContent = v.title;
    const name = (p) => (v.names && v.names[p]) || p;
    const fired = v.rounds.some((r) => r.state !== "scheduled");
    const done = (v.standings || []).length > 0;
    $("phase").textContent = I.t(done ? "ph_done" : fired ? "ph_knockout" : "ph_qualifier");

    // The qualifier's top, until the podium takes the stage.
    $("qualifier").hidden = done;
    $("qual-count").textContent = I.t("qualified", { n: v.qualified || 0 });
    const ql = $("qual-list");
    ql.textContent = "";
    (v.ranking || []).forEach((r) => {
      const li = el("li");
      li.dataset.player = r.id;
      li.append(el("span", "rk", r.rank), el("span", "nm", r.name || r.id), el("span", "sc", r.score + " " + I.t("pts")), el("span", "tm", secs(r.total_ms)));
      ql.append(li);
    });

    // The rounds, as columns.
    const br = $("bracket");
    br.hidden = done || !fired;
    br.textContent = "";
    v.rounds.forEach((r, i) => {
      const col = el("div", "round");
      col.dataset.round = r.num;
      col.dataset.state = r.state;
      const left = v.rounds.length - i;
      col.append(el("h2", null, r.final ? I.t("final") : left === 2 && v.format === "duel" ? I.t("semi") : I.t("round", { n: r.num })));
      const when = new Date(r.starts_at);
      col.append(el("div", "when", when.toLocaleString(I.lang === "zh" ? "zh-CN" : "en-GB", { month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" }) + " · " + I.t("st_" + r.state)));
      const box = el("div", "matches");
      (r.matches || []).forEach((m) => {
        const mb = el("div", "match");
        mb.dataset.slot = m.slot;
        mb.dataset.state = m.state;
        const res = {};
        (m.results || []).forEach((x) => { res[x.player] = x; });
        m.seats.forEach((p) => {
          if (!p) { mb.append(el("div", "seat empty", I.t("empty"))); return; }
          const won = (m.advance || []).includes(p);
          const s = el("div", "seat" + (m.state === "decided" ? (won ? " win" : " out") : ""));
          s.dataset.player = p;
          const nm = el("span", "nm", name(p));
          const seed = (v.entrants || []).find((e) => e.player === p);
          if (seed) nm.prepend(el("span", "sd", seed.seed));
          s.append(nm, el("span", "score", res[p] ? res[p].score : ""));
          mb.append(s);
        });
        if (m.state === "playing") mb.append(el("span", "live", I.t("live")));
        if (m.state === "sudden_death" || m.state === "tiebreak") mb.append(el("span", "live", I.t("sudden")));
        if (m.by) mb.append(el("span", "by", I.t("by_" + m.by)));
        box.append(mb);
      });
      col.append(box);
      br.append(col);
    });

    // The final's PIN, for the audience in the hall.
    const pin = v.final && v.final.pin && !done;
    $("final-pin").hidden = !pin;
    if (pin) $("final-pin").textContent = I.t("pin", { pin: v.final.pin });

    // The podium.
    $("podium").hidden = !done;
    if (done) {
      const steps = $("podium-steps");
      steps.textContent = "";
      const rest = $("podium-rest");
      rest.textContent = "";
      const top = {};
      v.standings.forEach((s) => { if (s.place <= 3 && !top[s.place]) top[s.place] = s; });
      [2, 1, 3].forEach((p) => {
        if (!top[p]) return;
        const st = el("div", "step p" + p);
        st.dataset.place = p;
        st.append(el("div", "who", top[p].name || top[p].player), el("div", "block", p));
        steps.append(st);
      });
      v.standings.filter((s) => !top[s.place] || top[s.place] !== s).forEach((s) => {
        rest.append(el("li", null, I.t("place", { n: s.place }) + " · " + (s.name || s.player)));
      });
    }
  }

  async function poll() {
    try {
      const res = await fetch("/api/v1/tournaments/" + encodeURIComponent(id) + "/view", { cache: "no-store" });
      if (!res.ok) throw new Error("http " + res.status);
      render(await res.json());
      $("stale").hidden = true;
    } catch (e) {
      $("stale").hidden = false;
    }
    setTimeout(poll, POLL_MS);
  }

  function tick() {
    $("clock").textContent = new Date().toLocaleTimeString(I.lang === "zh" ? "zh-CN" : "en-GB", { hour: "2-digit", minute: "2-digit" });
  }

  $("lang").onclick = () => {
    I.set(I.lang === "zh" ? "en" : "zh");
    $("lang").textContent = I.lang === "zh" ? "EN" : "中文";
    I.apply();
    if (last) render(last);
  };
  I.set(I.lang);
  $("lang").textContent = I.lang === "zh" ? "EN" : "中文";
  I.apply();
  tick();
  setInterval(tick, 10000);
  if (!id) { $("missing").hidden = false; return; }
  poll();
})();
