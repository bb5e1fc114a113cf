// Leitai host console: shows the stage event as the room sees it and sends
// host.control actions. Opened without a token it offers the create-event
// form (from admin.js) and moves to the new event's host console.
"use strict";

(function () {
  const L = window.Leitai;
  const Org = window.LeitaiOrg;
  const $ = (id) => document.getElementById(id);

  const DICT = {
    zh: Object.assign({}, Org.dict.zh, {
      page_title: "擂台 · 主持控制台", pin: "PIN 码", join_url: "参赛地址", screen_url: "大屏地址", answered: "已答",
      phase_: "未知", phase_lobby: "等待入场", phase_countdown: "倒计时", phase_question: "答题中",
      phase_reveal: "揭晓答案", phase_paused: "已暂停", phase_finished: "已结束",
      q_index: "第 {i} / {n} 题", btn_start: "开始", btn_next: "下一题", btn_reveal: "立即揭晓",
      btn_skip: "作废本题", btn_pause: "暂停", btn_resume: "继续", btn_end: "结束比赛",
      confirm_end: "确定要结束比赛吗？结束后不能恢复。", contestants: "参赛者", filter_ph: "搜索昵称",
      kick: "踢出", kicked_ok: "已踢出：{name}", more: "另有 {n} 人未显示，请搜索", top10: "前十名", teams: "团队排名",
      no_scores: "揭晓答案后显示排名", results: "比赛结果下载", rank: "名次", name: "昵称", team: "团队",
      score: "得分", delta: "本题", new_entry: "新", starts_in: "{s} 秒后开始", remaining: "剩余 {s} 秒",
      paused_left: "暂停，剩余 {s} 秒", text_question: "填空题（选手在手机上输入答案）",
      correct_answer: "正确答案：{a}", stat_correct: "答对", stat_wrong: "答错", answers_n: "{n} 人",
      conn_connecting: "连接中…", conn_open: "已连接", conn_reconnecting: "重新连接中…", conn_closed: "连接已断开",
      bad_token: "主持令牌无效或已过期", replaced: "控制台已在其他窗口打开", no_room: "尚未取得房间信息",
      no_token_title: "创建活动并开始主持", have_host_token: "已有主持令牌", open_console: "进入控制台",
      no_token_hint: "链接里没有主持令牌。填写组织者令牌创建活动，创建成功后自动进入主持控制台。"
    }),
    en: Object.assign({}, Org.dict.en, {
      page_title: "Leitai · Host console", pin: "PIN", join_url: "Join at", screen_url: "Screen", answered: "Answered",
      phase_: "Unknown", phase_lobby: "Lobby", phase_countdown: "Countdown", phase_question: "Question",
      phase_reveal: "Reveal", phase_paused: "Paused", phase_finished: "Finished",
      q_index: "Question {i} / {n}", btn_start: "Start", btn_next: "Next question", btn_reveal: "Reveal now",
      btn_skip: "Void question", btn_pause: "Pause", btn_resume: "Resume", btn_end: "End contest",
      confirm_end: "End the contest now? This cannot be undone.", contestants: "Contestants", filter_ph: "Search names",
      kick: "Kick", kicked_ok: "Kicked: {name}", more: "{n} more not shown; search to find them", top10: "Top 10", teams: "Teams",
      no_scores: "Rankings appear after the first reveal", results: "Download results", rank: "Rank", name: "Name", team: "Team",
      score: "Score", delta: "This q.", new_entry: "new", starts_in: "Starts in {s} s", remaining: "{s} s left",
      paused_left: "Paused, {s} s left", text_question: "Text answer (typed on the phones)",
      correct_answer: "Answer: {a}", stat_correct: "Correct", stat_wrong: "Wrong", answers_n: "{n}",
      conn_connecting: "Connecting…", conn_open: "Connected", conn_reconnecting: "Reconnecting…", conn_closed: "Disconnected",
      bad_token: "Invalid or expired host token", replaced: "The console was opened in another window", no_room: "Room not known yet",
      no_token_title: "Create an event and host it", have_host_token: "I have a host token", open_console: "Open console",
      no_token_hint: "No host token in the link. Enter the organizer token to create an event; you will be taken to its host console."
    })
  };
  const i18n = new L.I18n(DICT);
  const t = (k, v) => i18n.t(k, v);

  // Which phases allow each button; an unknown phase (no state yet) allows all.
  const ENABLE = {
    start: ["lobby"], next: ["reveal"], reveal: ["question"], skip: ["question"],
    pause: ["countdown", "question", "reveal"], resume: ["paused"],
    end: ["lobby", "countdown", "question", "reveal", "paused"]
  };
  const MAX_SHOWN = 300; // player rows drawn at once; the rest are found by search
  // The same shape beside each key as on the screen, for colour-blind hosts.
  const SHAPES = { A: "▲", B: "◆", C: "●", D: "■", E: "★", F: "✚" };

  const S = {
    event: null, room: "", title: "", pin: "", phase: "", beforePause: "", index: -1, total: 0,
    question: null, deadline: 0, startsAt: 0, remaining: 0, answered: 0, of: 0, count: 0,
    players: new Map(), top: [], teams: [], correct: [], stats: null, explanation: ""
  };
  let token = new URLSearchParams(location.search).get("token");
  let session = null;
  let form = null; // the create-event form, when opened without a token

  // ---- rendering ----
  let toastTimer = 0;
  function toast(text, bad) {
    const el = $("toast");
    el.textContent = text;
    el.className = "toast" + (bad ? " bad" : "");
    el.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { el.hidden = true; }, 4000);
  }
  const showError = (e) => toast(Org.errText(i18n, e), true);

  function renderHeader() {
    $("title").textContent = S.title;
    $("pin").textContent = S.pin;
    const join = S.event && S.event.join_url ? S.event.join_url : S.pin ? location.origin + "/?pin=" + encodeURIComponent(S.pin) : "";
    $("join-url").textContent = join;
    $("join-url").href = join || "#";
    const screen = token ? sessionStorage.getItem("leitai.screen_url." + token.slice(-12)) : null;
    $("screen-url-box").hidden = !screen;
    if (screen) { $("screen-url").textContent = screen; $("screen-url").href = Org.safeUrl(screen); }
    document.title = (S.title ? S.title + " · " : "") + t("page_title");
  }

  function renderPhase() {
    const ph = $("phase");
    ph.dataset.phase = S.phase;
    ph.textContent = t("phase_" + S.phase);
    Object.keys(ENABLE).forEach((a) => {
      $("btn-" + a).disabled = !!S.phase && ENABLE[a].indexOf(S.phase) < 0;
    });
    $("q-index").textContent = S.index >= 0 && S.total ? t("q_index", { i: S.index + 1, n: S.total }) : "";
    $("answered").textContent = S.answered;
    $("answered-of").textContent = S.of || S.count;
    // After the end nothing is being answered and nobody can be kicked.
    document.querySelector(".answered-box").hidden = S.phase === "finished";
    $("results").hidden = S.phase !== "finished" || !S.event;
    renderQuestion();
    tick();
  }

  function renderQuestion() {
    const q = S.question;
    const list = $("q-options");
    list.textContent = "";
    $("q-text").textContent = q ? q.text : "";
    $("explanation").textContent = "";
    if (!q) return;
    const revealed = S.phase === "reveal" && S.stats;
    if (!q.options || !q.options.length) {
      const li = document.createElement("li");
      li.className = "text-q";
      li.textContent = t("text_question");
      list.appendChild(li);
    }
    (q.options || []).forEach((o) => {
      const li = document.createElement("li");
      li.dataset.key = o.key;
      const k = document.createElement("b");
      k.textContent = o.key;
      const shape = document.createElement("i");
      shape.className = "shape";
      shape.textContent = q.type === "truefalse" ? (o.key === "T" ? "✓" : "✗") : SHAPES[o.key] || "";
      const span = document.createElement("span");
      span.textContent = o.text;
      li.append(k, shape, span);
      if (revealed) {
        if (S.correct.indexOf(o.key) >= 0) li.className = "correct";
        const n = document.createElement("em");
        n.textContent = t("answers_n", { n: S.stats[o.key] || 0 });
        li.appendChild(n);
      }
      list.appendChild(li);
    });
    if (revealed) {
      let line = t("correct_answer", { a: S.correct.join(", ") });
      if (!q.options || !q.options.length) {
        line += " · " + t("stat_correct") + " " + (S.stats.correct || 0) + " · " + t("stat_wrong") + " " + (S.stats.wrong || 0);
      }
      $("explanation").textContent = line + (S.explanation ? " — " + S.explanation : "");
    }
  }

  function tick() {
    const now = session ? session.serverNow() : Date.now();
    let text = "";
    if (S.phase === "question" && S.deadline) text = t("remaining", { s: Math.max(0, Math.ceil((S.deadline - now) / 1000)) });
    else if (S.phase === "countdown" && S.startsAt) text = t("starts_in", { s: Math.max(0, Math.ceil((S.startsAt - now) / 1000)) });
    else if (S.phase === "paused") text = t("paused_left", { s: Math.ceil(S.remaining / 1000) });
    const el = $("timer");
    el.textContent = text;
    el.classList.toggle("low", S.phase === "question" && S.deadline - now < 5000);
  }

  function renderTop() {
    const tb = $("top10");
    tb.textContent = "";
    if (!S.top.length) {
      const tr = tb.insertRow();
      const td = tr.insertCell();
      td.colSpan = 6;
      td.className = "muted";
      td.textContent = t("no_scores");
    }
    S.top.slice(0, 10).forEach((r) => {
      const tr = tb.insertRow();
      tr.className = "row";
      tr.dataset.rank = r.rank;
      tr.setAttribute("data-name", r.name || "");
      [r.rank, r.name, r.team || "", r.score, r.delta ? "+" + r.delta : ""].forEach((v, i) => {
        const td = tr.insertCell();
        td.textContent = v == null ? "" : v;
        if (i === 3 || i === 4) td.className = "num";
      });
      const mv = tr.insertCell();
      const prev = r.prev_rank || 0;
      mv.className = "move " + (!prev ? "new" : prev > r.rank ? "up" : prev < r.rank ? "down" : "same");
      mv.textContent = !prev ? t("new_entry") : prev > r.rank ? "▲" + (prev - r.rank) : prev < r.rank ? "▼" + (r.rank - prev) : "–";
    });
    const teams = S.teams || [];
    $("teams-box").hidden = !teams.length;
    const box = $("teams");
    box.textContent = "";
    const max = Math.max(1, ...teams.map((x) => x.score || 0));
    teams.forEach((tm) => {
      const row = document.createElement("div");
      row.className = "team-row";
      row.dataset.team = tm.team;
      const name = document.createElement("span");
      name.textContent = tm.rank + ". " + tm.team;
      const bar = document.createElement("i");
      bar.style.width = Math.round(100 * (tm.score || 0) / max) + "%";
      const score = document.createElement("b");
      score.textContent = tm.score;
      row.append(name, bar, score);
      box.appendChild(row);
    });
  }

  let playersTimer = 0;
  function markPlayers() { // batch redraws: a big lobby fills hundreds of joins a second
    if (!playersTimer) playersTimer = setTimeout(() => { playersTimer = 0; renderPlayers(); }, 120);
  }
  function renderPlayers() {
    $("count").textContent = S.count;
    $("answered-of").textContent = S.of || S.count;
    const f = $("player-filter").value.trim().toLowerCase();
    const all = Array.from(S.players.values()).reverse();
    const match = f ? all.filter((p) => String(p.name).toLowerCase().indexOf(f) >= 0) : all;
    const ul = $("players");
    ul.textContent = "";
    match.slice(0, MAX_SHOWN).forEach((p) => {
      const li = document.createElement("li");
      li.dataset.player = p.id;
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = p.name;
      li.appendChild(name);
      if (p.team) {
        const tm = document.createElement("small");
        tm.textContent = p.team;
        li.appendChild(tm);
      }
      if (S.phase === "finished") { ul.appendChild(li); return; } // nobody to kick once it is over
      const b = document.createElement("button");
      b.type = "button";
      b.className = "kick small danger";
      b.dataset.player = p.id;
      b.textContent = t("kick");
      li.appendChild(b);
      ul.appendChild(li);
    });
    $("players-more").textContent = match.length > MAX_SHOWN ? t("more", { n: match.length - MAX_SHOWN }) : "";
  }

  function renderAll() {
    renderHeader();
    renderPhase();
    renderTop();
    renderPlayers();
  }

  // ---- state from the server ----
  function setPhase(p) {
    if (p === "paused" && S.phase !== "paused") S.beforePause = S.phase;
    S.phase = p || S.phase;
  }
  function addPlayer(p) {
    if (p && p.id) S.players.set(p.id, { id: p.id, name: p.name || "", team: p.team || "" });
  }
  function setBoard(top, teams) {
    if (Array.isArray(top)) S.top = top;
    if (Array.isArray(teams)) S.teams = teams;
    renderTop();
  }

  const handlers = {
    "room.state": (d) => {
      S.room = d.room || S.room;
      if (d.title) S.title = d.title;
      if (d.pin) S.pin = d.pin;
      setPhase(d.phase);
      S.index = d.index == null ? S.index : d.index;
      S.total = d.total || S.total;
      S.question = d.question || null;
      S.deadline = d.deadline || 0;
      S.remaining = d.remaining_ms || 0;
      S.answered = d.answered || 0;
      if (typeof d.players === "number") S.count = d.players;
      else if (Array.isArray(d.players)) S.count = d.players.length;
      if (Array.isArray(d.members)) {
        S.players.clear();
        d.members.forEach(addPlayer);
        S.count = Math.max(S.count, d.members.length);
      }
      S.of = 0;
      if (d.scoreboard) setBoard(d.scoreboard.top, d.scoreboard.teams);
      renderAll();
    },
    "room.joined": (d) => {
      addPlayer(d.player);
      S.count = d.count || S.players.size;
      markPlayers();
    },
    countdown: (d) => {
      setPhase("countdown");
      S.startsAt = d.starts_at || 0;
      S.index = d.index == null ? S.index : d.index;
      renderPhase();
    },
    question: (d) => {
      setPhase("question");
      S.index = d.index;
      S.total = d.total || S.total;
      S.question = d.question || null;
      S.deadline = d.deadline || 0;
      S.answered = 0;
      S.stats = null;
      S.correct = [];
      renderPhase();
    },
    progress: (d) => {
      S.answered = d.answered || 0;
      S.of = d.of || S.of;
      $("answered").textContent = S.answered;
      $("answered-of").textContent = S.of || S.count;
    },
    reveal: (d) => {
      setPhase("reveal");
      S.correct = d.correct || [];
      S.stats = d.stats || {};
      S.explanation = d.explanation || "";
      renderPhase();
    },
    scoreboard: (d) => setBoard(d.top, d.teams),
    paused: (d) => {
      setPhase("paused");
      S.remaining = d.remaining_ms || 0;
      renderPhase();
    },
    resumed: (d) => {
      S.phase = S.beforePause || "question";
      if (S.phase === "countdown") S.startsAt = d.deadline || S.startsAt;
      else S.deadline = d.deadline || S.deadline;
      renderPhase();
    },
    "room.finished": (d) => {
      setPhase("finished");
      S.question = null;
      setBoard((d.standings || []).slice(0, 10), d.teams);
      renderPhase();
      renderPlayers();
    }
  };

  function onMessage(msg) {
    const d = msg.data || {};
    if (msg.type === "error") { if (!msg.re) showError(d); return; }
    if (d.room && S.room && d.room !== S.room) return;
    if (handlers[msg.type]) handlers[msg.type](d);
  }

  function onStatus(state, detail) {
    const c = $("conn");
    c.dataset.state = state;
    c.textContent = t("conn_" + state);
    if (state === "open" && detail) {
      const ev = detail.event || S.event;
      if (ev) {
        S.event = ev;
        S.room = ev.room || S.room;
        S.title = ev.title || S.title;
        S.pin = ev.pin || S.pin;
      }
      renderHeader();
      // Ask for a room.state (contestant list, phase); harmless if the server already sends one.
      if (S.room) session.send("watch", { room: S.room }).catch(() => {});
    } else if (state === "closed") {
      if (detail === 4001) toast(t("replaced"), true);
      else if (typeof detail === "string") {
        session.close(); // the hello was refused: do not retry with the same token
        toast(t("bad_token") + " (" + detail + ")", true);
      }
    }
  }

  // ---- actions ----
  function control(action, extra) {
    if (!S.room) return Promise.reject({ code: "", message: t("no_room") });
    return session.send("host.control", Object.assign({ room: S.room, action: action }, extra || {}));
  }

  Object.keys(ENABLE).forEach((a) => {
    $("btn-" + a).addEventListener("click", () => {
      if (a === "end" && !confirm(t("confirm_end"))) return;
      control(a).catch(showError);
    });
  });

  $("players").addEventListener("click", (e) => {
    const b = e.target.closest(".kick");
    if (!b) return;
    const id = b.dataset.player;
    const p = S.players.get(id);
    b.disabled = true;
    control("kick", { player: id }).then(() => {
      if (S.players.delete(id)) S.count = Math.max(0, S.count - 1);
      toast(t("kicked_ok", { name: p ? p.name : id }));
      renderPlayers();
    }, (err) => { b.disabled = false; showError(err); });
  });
  $("player-filter").addEventListener("input", renderPlayers);

  $("results").addEventListener("click", (e) => {
    const b = e.target.closest(".dl");
    if (!b || !S.event) return;
    const f = b.dataset.format;
    Org.download("/api/v1/events/" + encodeURIComponent(S.event.id) + "/results?format=" + f, token,
      "leitai-" + (S.pin || S.event.id) + "-results." + f).catch(showError);
  });

  function applyLang() {
    i18n.set(i18n.lang);
    i18n.apply();
    $("lang").textContent = i18n.lang === "zh" ? "English" : "中文";
    if (form) form.renderSets();
    const c = $("conn");
    if (c.dataset.state) c.textContent = t("conn_" + c.dataset.state);
    renderAll();
  }
  $("lang").addEventListener("click", () => { i18n.lang = i18n.lang === "zh" ? "en" : "zh"; applyLang(); });

  // ---- start ----
  // openConsole switches this page to the console of the event whose host
  // token is tok, without a reload (the address bar gets the token too).
  function openConsole(tok) {
    token = tok;
    history.replaceState(null, "", "/host?token=" + encodeURIComponent(tok));
    $("create").hidden = true;
    $("conn").hidden = false;
    $("console").hidden = false;
    applyLang();
    session = new L.Session({
      hello: () => ({ token: token }),
      storageKey: "leitai.resume.host." + token.slice(-16),
      onMessage: onMessage,
      onStatus: onStatus
    });
    session.start();
    setInterval(tick, 250);
  }

  if (token) {
    openConsole(token);
    return;
  }
  // No host token: create an event with the organizer token, then open its console.
  $("create").hidden = false;
  $("conn").hidden = true;
  const org = $("org-token");
  org.value = localStorage.getItem(Org.TOKEN_KEY) || "";
  form = new Org.EventForm($("ev-form"), {
    i18n: i18n,
    getToken: () => org.value.trim(),
    onCreated: (r) => {
      localStorage.setItem(Org.TOKEN_KEY, org.value.trim());
      // The screen link exists only in this reply: keep it for the console.
      if (r.screen_url && r.host_token) sessionStorage.setItem("leitai.screen_url." + r.host_token.slice(-12), r.screen_url);
      if (r.host_token) openConsole(r.host_token);
    }
  });
  org.addEventListener("change", () => form.loadSets());
  form.loadSets();
  $("host-go").addEventListener("click", () => {
    const v = $("host-token").value.trim();
    if (v) openConsole(v);
  });
  applyLang();
})();
