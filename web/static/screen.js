// Leitai projected screen: read-only view of a stage event by its screen
// token. One view per phase (lobby, countdown, question, reveal chart, top 10,
// podium), a pause overlay, and animations that are for presentation only.
"use strict";

(function () {
  const L = window.Leitai;
  const $ = (id) => document.getElementById(id);

  const i18n = new L.I18n({
    zh: {
      pin: "PIN 码", join_hint: "扫码或打开下面的网址，输入 PIN 码加入", joined: "人已加入", answered: "已答",
      q_num: "第 {i} / {n} 题", get_ready: "第 {i} 题 · 准备", go: "开始！", text_question: "请在手机上输入答案",
      correct_answer: "正确答案", stat_correct: "答对", stat_wrong: "答错", top10: "排行榜 · 前十名",
      teams: "团队排名", final: "最终排名", paused: "暂停", paused_left: "剩余 {s} 秒", new_entry: "新",
      points: "分", need_token: "请输入大屏幕令牌", connect: "连接", bad_token: "令牌无效或已过期",
      conn_connecting: "连接中…", conn_reconnecting: "重新连接中…", conn_closed: "连接已断开",
      voided: "本题作废", voided_sub: "主持人作废了本题，所有人不得分", streak: "连对 {n} 题",
      sound_on: "♪ 声音：开", sound_off: "♪ 静音", sound_hint: "点击页面任意处开启声音（按 M 静音）"
    },
    en: {
      pin: "PIN", join_hint: "Scan the code or open the address, then enter the PIN", joined: "joined", answered: "Answered",
      q_num: "Question {i} / {n}", get_ready: "Question {i} · Get ready", go: "Go!", text_question: "Type your answer on your phone",
      correct_answer: "Answer", stat_correct: "Correct", stat_wrong: "Wrong", top10: "Leaderboard · Top 10",
      teams: "Teams", final: "Final standings", paused: "Paused", paused_left: "{s} s left", new_entry: "NEW",
      points: "pts", need_token: "Enter the screen token", connect: "Connect", bad_token: "Invalid or expired token",
      conn_connecting: "Connecting…", conn_reconnecting: "Reconnecting…", conn_closed: "Disconnected",
      voided: "Question voided", voided_sub: "The host voided this question: no points for anyone", streak: "{n} in a row",
      sound_on: "♪ Sound on", sound_off: "♪ Muted", sound_hint: "Click anywhere to turn the sound on (M mutes)"
    }
  });
  const t = (k, v) => i18n.t(k, v);
  const TOKEN_KEY = "leitai.screen_token";
  const MAX_NAMES = 160; // names drawn in the lobby cloud; the count is always exact
  const BOARD_DELAY = 3000; // the chart stays this long before the top 10
  const Sound = window.LeitaiSound;
  // Each answer key has a shape as well as a colour, for colour-blind viewers.
  const SHAPES = { A: "▲", B: "◆", C: "●", D: "■", E: "★", F: "✚" };
  const shapeOf = (key, type) => (type === "truefalse" ? (key === "T" ? "✓" : "✗") : SHAPES[key] || "");

  const S = {
    event: null, room: "", title: "", pin: "", phase: "", beforePause: "", view: "lobby",
    index: -1, total: 0, question: null, lastQuestion: null, deadline: 0, limit: 0, startsAt: 0, remaining: 0,
    answered: 0, of: 0, count: 0, names: [], top: [], teams: [], standings: [],
    correct: [], stats: null, skipped: false, explanation: "", revealAt: 0, boardFresh: false, boardTimer: 0
  };
  let session = null;

  // ---- small helpers ----
  // el makes an element with a class, text (always as text, never HTML) and children.
  function el(tag, cls, text, kids) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = String(text);
    if (kids) e.append(...kids);
    return e;
  }
  const reflow = (e) => void e.offsetHeight;
  // fit shrinks an element's font (in rem) until its content fits its box.
  function fit(e, max, min) {
    let size = max;
    e.style.fontSize = size + "rem";
    while (size > min && e.scrollHeight > e.clientHeight + 2) {
      size -= 0.2;
      e.style.fontSize = size.toFixed(1) + "rem";
    }
  }
  // fitWidth shrinks a one-line element's font (in rem) until it is not cut.
  function fitWidth(e, max, min) {
    let size = max;
    e.style.fontSize = size + "rem";
    while (size > min && e.scrollWidth > e.clientWidth + 1) {
      size -= 0.2;
      e.style.fontSize = size.toFixed(1) + "rem";
    }
  }
  const qNum = () => (S.index >= 0 && S.total ? t("q_num", { i: S.index + 1, n: S.total }) : "");

  // ---- views ----
  function setView(v) {
    if (v) S.view = v;
    document.body.dataset.phase = S.phase;
    document.body.dataset.view = S.view;
    document.body.classList.toggle("has-teams", S.teams.length > 0);
    if (Sound) Sound.music(S.view === "lobby" && !!S.room);
    const slot = S.view === "finished" ? $("slot-fin") : $("slot-board");
    if ($("teams").parentNode !== slot) slot.appendChild($("teams"));
  }

  function viewFor(phase) {
    if (phase === "paused") return S.view;
    if (phase === "reveal") return S.stats ? "reveal" : "board";
    return phase === "countdown" || phase === "question" || phase === "finished" ? phase : "lobby";
  }

  function renderHeader() {
    $("title").textContent = S.title;
    $("pin").textContent = S.pin;
    $("pin-mini").textContent = S.pin;
    // The server's public URL (--public-url) when it has one, as in the QR code.
    const join = S.event && S.event.join_url ? S.event.join_url : S.pin ? location.origin + "/?pin=" + encodeURIComponent(S.pin) : "";
    $("join-url").textContent = join;
    if (S.event && S.event.id && !$("qr").dataset.event) {
      $("qr").dataset.event = S.event.id;
      $("qr").src = "/api/v1/events/" + encodeURIComponent(S.event.id) + "/qr.png";
    }
    document.title = S.title || "Leitai";
  }

  function renderCount() {
    $("count").textContent = S.count;
    $("answered").textContent = S.answered;
    $("answered-of").textContent = S.of || S.count ? " / " + (S.of || S.count) : "";
  }

  function nameChip(name, pop) { // each name keeps one colour, from a hash of it
    const c = el("span", "chip" + (pop ? " pop" : ""), name);
    let h = 0;
    for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) | 0;
    c.style.setProperty("--hue", String(Math.abs(h) % 360));
    return c;
  }
  function renderNames() {
    const box = $("names");
    box.textContent = "";
    S.names.slice(-MAX_NAMES).reverse().forEach((n) => box.appendChild(nameChip(n, false)));
  }
  function addName(name) {
    S.names.push(name);
    if (S.names.length > MAX_NAMES * 2) S.names = S.names.slice(-MAX_NAMES);
    const box = $("names");
    box.insertBefore(nameChip(name, true), box.firstChild); // newest first: always visible
    while (box.childNodes.length > MAX_NAMES) box.removeChild(box.lastChild);
  }

  function renderQuestion() {
    const q = S.question;
    $("q-num").textContent = qNum();
    $("q-text").textContent = q ? q.text : "";
    const box = $("q-options");
    box.textContent = "";
    const opts = (q && q.options) || [];
    box.dataset.n = opts.length;
    if (q && !opts.length) box.appendChild(el("div", "text-q", t("text_question")));
    opts.forEach((o) => {
      const d = box.appendChild(el("div", "opt", null, [el("b", "key", o.key), el("i", "shape", shapeOf(o.key, q.type)), el("span", "otext", o.text)]));
      d.dataset.key = o.key;
    });
    renderCount();
    if (S.view === "question") { fit($("q-text"), 4.6, 2.0); fit(box, 3.2, 1.4); }
  }

  function renderChart() {
    const q = S.lastQuestion;
    const stats = S.stats || {};
    const isText = q ? !(q.options && q.options.length) : "correct" in stats;
    let bars;
    if (isText) {
      bars = [{ key: "correct", label: t("stat_correct"), ok: true }, { key: "wrong", label: t("stat_wrong"), ok: false }];
    } else {
      const opts = q && q.options && q.options.length ? q.options : Object.keys(stats).sort().map((k) => ({ key: k, text: "" }));
      bars = opts.map((o) => ({ key: o.key, label: o.text, ok: S.correct.indexOf(o.key) >= 0 }));
    }
    const max = Math.max(1, ...bars.map((b) => stats[b.key] || 0));
    const chart = $("chart");
    chart.textContent = "";
    const fills = [];
    bars.forEach((b) => {
      const n = stats[b.key] || 0;
      const fill = el("div", "fill", null, [el("span", "val", n)]);
      fills.push([fill, (100 * n) / max]);
      const label = el("div", "label", null, [el("span", "ltext", (b.ok ? "✓ " : "") + (b.label || ""))]);
      if (!isText) label.prepend(el("b", "key", b.key), el("i", "shape", shapeOf(b.key, q && q.type)));
      const col = chart.appendChild(el("div", "bar" + (b.ok ? " ok" : ""), null, [el("div", "track", null, [fill]), label]));
      col.dataset.key = b.key;
    });
    reflow(chart);
    requestAnimationFrame(() => fills.forEach((f, i) => {
      f[0].style.transitionDelay = 0.15 * i + "s";
      f[0].style.height = Math.max(f[1], 1.5) + "%";
    }));
    $("r-num").textContent = qNum();
    $("r-text").textContent = q ? q.text : "";
    let answer;
    if (isText) answer = S.correct.join(" / ");
    else {
      const byKey = {};
      ((q && q.options) || []).forEach((o) => { byKey[o.key] = o.text; });
      answer = S.correct.map((k) => (byKey[k] != null ? k + ". " + byKey[k] : k)).join("    ");
    }
    $("r-answer").replaceChildren(el("span", "r-label", t("correct_answer")), el("span", "r-value", answer));
    $("r-expl").textContent = S.explanation || "";
    // A voided question scores nothing: say so instead of showing empty bars.
    $("v-reveal").classList.toggle("voided", S.skipped);
    $("r-void").hidden = !S.skipped;
  }

  // renderTop draws the top 10. Rows sit in list order (tied ranks share a
  // number, not a place). With animate, each row starts where it was
  // (prev_rank; from below when new) and slides to its place.
  function renderTop(animate) {
    const box = $("top10");
    box.textContent = "";
    const top = S.top.slice(0, 10);
    box.classList.remove("anim");
    const rows = top.map((r, i) => {
      const rank = r.rank || i + 1;
      const prev = r.prev_rank || 0;
      const row = el("div", "row" + (rank <= 3 ? " r" + rank : ""));
      row.dataset.rank = rank;
      row.setAttribute("data-name", r.name || "");
      const move = el("span", "move " + (!prev ? "new" : prev > rank ? "up" : prev < rank ? "down" : "same"),
        !prev ? t("new_entry") : prev > rank ? "▲" + (prev - rank) : prev < rank ? "▼" + (rank - prev) : "");
      const nameBox = el("span", "who", null, [el("span", "name", r.name)]);
      if (r.team) nameBox.append(el("span", "tm", r.team));
      if (r.streak >= 2) {
        const st = el("span", "streak", null, [flame(), el("b", null, r.streak)]);
        st.title = t("streak", { n: r.streak });
        nameBox.append(st);
      }
      row.append(el("span", "rank", rank), move, nameBox,
        el("span", "delta", r.delta ? "+" + r.delta : ""), el("span", "score", r.score));
      const from = animate ? (prev >= 1 && prev <= 10 ? prev : 11) : i + 1;
      row.style.transform = "translateY(" + (from - 1) * 100 + "%)";
      if (animate && from === 11) row.style.opacity = "0";
      box.appendChild(row);
      return [row, i + 1];
    });
    if (!animate) return renderTeams(false);
    reflow(box);
    requestAnimationFrame(() => {
      box.classList.add("anim");
      rows.forEach((p) => { p[0].style.transform = "translateY(" + (p[1] - 1) * 100 + "%)"; p[0].style.opacity = "1"; });
    });
    renderTeams(true);
  }

  // flame draws the streak icon (no emoji font is needed on the projector's machine).
  function flame() {
    const NS = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("class", "flame");
    svg.setAttribute("aria-hidden", "true");
    const outer = document.createElementNS(NS, "path");
    outer.setAttribute("d", "M12 1c1 4 6 7 6 13a6 6 0 0 1-12 0c0-3 1.5-5 3-6.5 0 2 1 3.5 2.5 4C11 8 10.5 4.5 12 1z");
    outer.setAttribute("fill", "#ff7a1a");
    const inner = document.createElementNS(NS, "path");
    inner.setAttribute("d", "M12 11c.5 2 3 3 3 6a3 3 0 0 1-6 0c0-1.8 1-3 2-4 .3 1 .7 1.5 1.2 1.8C12 13.5 11.6 12.3 12 11z");
    inner.setAttribute("fill", "#ffd23d");
    svg.append(outer, inner);
    return svg;
  }

  function renderTeams(animate) {
    const box = $("teams");
    box.textContent = "";
    if (!S.teams.length) return setView();
    box.appendChild(el("h2", "teams-title", t("teams")));
    const max = Math.max(1, ...S.teams.map((x) => x.score || 0));
    const fills = S.teams.map((tm, i) => {
      const fill = el("i", "tfill");
      const row = box.appendChild(el("div", "team", null, [el("span", "tname", (tm.rank || i + 1) + ". " + tm.team),
        el("span", "tscore", Math.round(tm.score || 0)), el("div", "tbar", null, [fill])]));
      row.dataset.team = tm.team;
      row.dataset.rank = tm.rank || i + 1;
      return [fill, (100 * (tm.score || 0)) / max];
    });
    setView();
    const apply = () => fills.forEach((f) => { f[0].style.width = Math.max(f[1], 1) + "%"; });
    if (!animate) return apply();
    reflow(box);
    requestAnimationFrame(apply);
  }

  function renderPodium() {
    const st = S.standings;
    [1, 2, 3].forEach((r) => {
      const p = document.querySelector('#podium .place[data-rank="' + r + '"]');
      const s = st[r - 1];
      p.classList.toggle("empty", !s);
      p.classList.remove("go");
      p.querySelector(".p-name").textContent = s ? s.name : "";
      p.querySelector(".p-team").textContent = s && s.team ? s.team : "";
      p.querySelector(".p-score").textContent = s ? s.score + " " + t("points") : "";
      if (s) p.setAttribute("data-name", s.name || "");
      else p.removeAttribute("data-name");
    });
    const pod = $("podium");
    reflow(pod);
    // A long name shrinks to fit its place rather than being cut.
    pod.querySelectorAll(".p-name").forEach((e) => fitWidth(e, e.closest('[data-rank="1"]') ? 4 : 3.4, 1.6));
    requestAnimationFrame(() => pod.querySelectorAll(".place").forEach((p) => p.classList.add("go")));
    renderTeams(true);
  }

  // ---- timers ----
  let lastCd = "";
  let lastQSec = 0;
  function tick() {
    const now = session ? session.serverNow() : Date.now();
    if (S.view === "countdown" && S.phase !== "paused") {
      $("cd-label").textContent = t("get_ready", { i: S.index + 1 });
      const s = S.startsAt ? Math.ceil((S.startsAt - now) / 1000) : 0;
      const text = s > 0 ? String(s) : t("go");
      if (text !== lastCd) {
        if (Sound) Sound.tick(s <= 0);
        lastCd = text;
        const n = $("cd-num");
        n.textContent = text;
        n.classList.remove("beat");
        reflow(n);
        n.classList.add("beat");
      }
    }
    if (S.view === "question") {
      const left = S.phase === "paused" ? S.remaining : Math.max(0, S.deadline - now);
      const frac = S.limit ? Math.min(1, left / S.limit) : 0;
      $("timebar").style.width = (frac * 100).toFixed(2) + "%";
      $("q-timer").textContent = S.deadline || S.remaining ? Math.ceil(left / 1000) : "";
      document.body.classList.toggle("hurry", left < 5000 && S.phase === "question");
      // The last five seconds of a question tick.
      const sec = Math.ceil(left / 1000);
      if (S.phase === "question" && sec <= 5 && sec >= 1 && sec !== lastQSec && Sound) Sound.tick(false);
      lastQSec = S.phase === "question" ? sec : 0;
    }
    if (S.phase === "paused") {
      $("paused-left").textContent = S.remaining ? t("paused_left", { s: Math.ceil(S.remaining / 1000) }) : "";
    }
  }

  // The top 10 follows the chart once a fresh scoreboard has arrived.
  function scheduleBoard() {
    if (!S.boardFresh || S.boardTimer || S.view !== "reveal") return;
    const wait = Math.max(0, S.revealAt + BOARD_DELAY - Date.now());
    S.boardTimer = setTimeout(() => {
      S.boardTimer = 0;
      if (S.phase !== "reveal" && S.phase !== "paused") return;
      setView("board");
      renderTop(true);
    }, wait);
  }
  function cancelBoard() { clearTimeout(S.boardTimer); S.boardTimer = 0; }

  // ---- messages ----
  function enter(phase) {
    if (phase === "paused" && S.phase !== "paused") S.beforePause = S.phase;
    if (phase !== "reveal" && phase !== "paused") cancelBoard();
    S.phase = phase || S.phase;
    setView(viewFor(S.phase));
  }

  const handlers = {
    "room.state": (d) => {
      Object.assign(S, {
        room: d.room || S.room, title: d.title || S.title, pin: d.pin || S.pin, total: d.total || S.total,
        index: d.index == null ? S.index : d.index, question: d.question || null, deadline: d.deadline || 0,
        startsAt: d.phase === "countdown" ? d.deadline || d.starts_at || 0 : 0, limit: d.time_limit_ms || S.limit,
        remaining: d.remaining_ms || 0, answered: d.answered || 0, stats: null
      });
      if (S.question) S.lastQuestion = S.question;
      S.count = typeof d.players === "number" ? d.players : Array.isArray(d.players) ? d.players.length : S.count;
      if (Array.isArray(d.members)) {
        S.names = d.members.map((m) => m.name || "");
        S.count = Math.max(S.count, S.names.length);
        renderNames();
      }
      if (d.scoreboard) {
        S.top = d.scoreboard.top || [];
        S.teams = d.scoreboard.teams || [];
      }
      renderHeader();
      enter(d.phase);
      if (S.phase === "paused") setView(S.question ? "question" : S.top.length ? "board" : S.view);
      renderQuestion();
      renderTop(false);
      if (S.phase === "finished") {
        if (!S.standings.length) S.standings = S.top;
        renderPodium();
      }
      tick();
    },
    "room.joined": (d) => {
      S.count = d.count || S.count + 1;
      if (d.player) addName(d.player.name || "");
      renderCount();
    },
    countdown: (d) => {
      S.startsAt = d.starts_at || 0;
      S.index = d.index == null ? S.index : d.index;
      lastCd = "";
      enter("countdown");
      tick();
    },
    question: (d) => {
      Object.assign(S, { index: d.index, total: d.total || S.total, question: d.question || null,
        deadline: d.deadline || 0, answered: 0, stats: null, correct: [], skipped: false });
      S.lastQuestion = S.question;
      S.limit = d.time_limit_ms || Math.max(1, S.deadline - session.serverNow());
      enter("question");
      renderQuestion();
      tick();
    },
    progress: (d) => { S.answered = d.answered || 0; S.of = d.of || S.of; renderCount(); },
    reveal: (d) => {
      S.correct = d.correct || [];
      S.stats = d.stats || {};
      S.explanation = d.explanation || "";
      S.skipped = !!d.skipped;
      S.revealAt = Date.now();
      S.boardFresh = false;
      S.question = null;
      cancelBoard();
      enter("reveal");
      renderChart();
    },
    scoreboard: (d) => {
      S.top = d.top || [];
      S.teams = d.teams || [];
      S.boardFresh = true;
      if (S.view === "reveal") scheduleBoard();
      else if (S.view === "board") renderTop(true);
    },
    paused: (d) => { S.remaining = d.remaining_ms || 0; enter("paused"); tick(); },
    resumed: (d) => {
      const back = S.beforePause || "question";
      if (back === "countdown") S.startsAt = d.deadline || S.startsAt;
      else if (back === "question") S.deadline = d.deadline || S.deadline;
      enter(back);
      if (back === "question") renderQuestion();
      tick();
    },
    "room.finished": (d) => {
      S.standings = d.standings || [];
      if (Array.isArray(d.teams)) S.teams = d.teams;
      enter("finished");
      renderPodium();
    }
  };

  function onMessage(msg) {
    const d = msg.data || {};
    if (d.room && S.room && d.room !== S.room) return;
    if (handlers[msg.type]) handlers[msg.type](d);
  }

  function onStatus(state, detail) {
    const c = $("conn");
    c.dataset.state = state;
    c.textContent = state === "open" ? "" : t("conn_" + state);
    if (state === "open" && detail) {
      const ev = (S.event = detail.event || S.event); // a resumed welcome may omit it
      if (ev) Object.assign(S, { room: ev.room || S.room, title: ev.title || S.title, pin: ev.pin || S.pin });
      renderHeader();
      if (S.room) session.send("watch", { room: S.room }).catch(() => {});
    } else if (state === "closed" && typeof detail === "string") {
      session.close(); // the hello was refused: do not retry with the same token
      askToken(t("bad_token") + " (" + detail + ")");
    }
  }

  // ---- start ----
  function askToken(error) { // no token, or the server refused it
    localStorage.removeItem(TOKEN_KEY);
    $("token-error").textContent = error || "";
    $("need-token").hidden = false;
  }

  function connect(token) {
    $("need-token").hidden = true;
    if (session) session.close();
    session = new L.Session({
      hello: () => ({ token: token }),
      storageKey: "leitai.resume.screen." + token.slice(-16),
      onMessage: onMessage,
      onStatus: onStatus
    });
    session.start();
  }

  function applyLang() {
    i18n.set(i18n.lang);
    i18n.apply();
    $("lang").textContent = i18n.lang === "zh" ? "EN" : "中";
    const c = $("conn");
    if (c.dataset.state && c.dataset.state !== "open") c.textContent = t("conn_" + c.dataset.state);
    lastCd = "";
    renderSound();
    renderQuestion();
    if (S.stats) renderChart();
    renderTop(false);
    if (S.phase === "finished") renderPodium();
  }

  $("lang").addEventListener("click", () => { i18n.lang = i18n.lang === "zh" ? "en" : "zh"; applyLang(); });
  function renderSound(state) {
    state = state || (Sound ? Sound.state() : "off");
    document.body.dataset.sound = state;
    $("sound").hidden = !Sound || state === "off";
    $("sound").textContent = t(state === "muted" ? "sound_off" : "sound_on");
    $("sound").classList.toggle("muted", state === "muted");
    $("sound-hint").hidden = state !== "blocked";
  }
  if (Sound) {
    Sound.onChange(renderSound);
    $("sound").addEventListener("click", () => Sound.toggle());
    document.addEventListener("keydown", (e) => {
      if (e.target.tagName !== "INPUT" && (e.key === "m" || e.key === "M")) Sound.toggle();
    });
  }
  document.addEventListener("keydown", (e) => {
    if (e.target.tagName !== "INPUT" && (e.key === "l" || e.key === "L")) $("lang").click();
  });
  $("qr").addEventListener("error", () => { $("qr").style.visibility = "hidden"; });
  $("token-go").addEventListener("click", () => {
    const v = $("screen-token").value.trim();
    if (!v) return;
    localStorage.setItem(TOKEN_KEY, v);
    connect(v);
  });
  $("screen-token").addEventListener("keydown", (e) => { if (e.key === "Enter") $("token-go").click(); });
  window.addEventListener("resize", () => { if (S.view === "question") renderQuestion(); });

  applyLang();
  setView("lobby");
  setInterval(tick, 100);
  const token = new URLSearchParams(location.search).get("token") || localStorage.getItem(TOKEN_KEY);
  if (token) connect(token);
  else askToken("");
})();
