// Leitai player page: start → queue → room (lobby, countdown, question, reveal,
// paused, finished). All state lives in a few variables (room, queue, phase); render() redraws the
// current view from it, so a room.state after a reconnect rebuilds everything.
// Server strings only ever reach the DOM through textContent (see h()).
"use strict";

(function () {
  var L = window.Leitai;
  var I = new L.I18n({
    zh: {
      brand: "擂台", tagline: "知识擂台，谁与争锋", nickname: "昵称", name_ph: "输入你的昵称",
      quick: "快速匹配", duel: "双人对战", four: "四人赛", event: "现场活动", pin: "活动 PIN",
      pin_ph: "6 位数字", join: "加入", joining: "加入中…", team: "队伍", pick_team: "选择队伍…",
      team_event: "团队赛", reconnecting: "连接中断，正在重连…", finding: "正在匹配…",
      waited: "已等待 {s} 秒", cancel: "取消", found: "对手已就位", rating: "积分 {r}",
      get_ready: "准备", go: "开始！", waiting_host: "等待主持人开始", n_players: "{n} 人已加入",
      q_of: "第 {i}/{n} 题", submit: "提交", submitted: "已提交", too_late: "超时", times_up: "时间到",
      question_closed: "本题已结束", answered: "已答 {a}/{b}", type_multi: "多选题：选好后点提交",
      text_ph: "输入答案", tf_T: "对", tf_F: "错", right: "回答正确",
      wrong: "回答错误", no_answer: "未作答", voided: "本题作废", the_answer: "正确答案：{a}",
      your_answer: "你的答案：{a}", explanation: "解析：", streak: "连对 {n} 题", score: "得分",
      rank: "第 {n} 名", scoreboard: "排行榜", teams: "队伍排名", paused: "已暂停",
      paused_sub: "主持人暂停了比赛", left_s: "剩余 {s} 秒", kicked: "你已被移出比赛",
      final: "最终排名", you_win: "你赢了！", you_rank: "你获得第 {n} 名", awarded: "获得积分 {p}",
      again: "再来一局", back: "返回首页", next_q: "等待下一题…", pts: "{p} 分",
      err_name: "请输入昵称", err_pin: "请输入 6 位 PIN", err_pin_missing: "找不到该活动，请检查 PIN",
      err_team: "请选择队伍", err_full: "人数已满，或活动已开始不能中途加入",
      err_busy: "你已在匹配或比赛中", err_bad: "请求被拒绝：{m}", err_generic: "出错了：{m}",
      timeout: "暂时没有找到对手，请稍后再试", expired: "连接已过期，请重新开始",
      replaced: "已在其他页面打开本游戏", closed: "连接已断开",
      youre_in: "你已加入！", youre_in_team: "队伍：{t}", rematch_wait: "等待对手接受再来一局…",
      rematch_offer: "{n} 想再来一局", accept: "接受", decline: "不了", rematch_left: "{s} 秒内有效",
      rematch_new: "对手没有接受，正在为你匹配新对手",
      ph_start: "首页", ph_queue: "匹配中", ph_lobby: "等待开始", ph_countdown: "倒计时",
      ph_question: "答题", ph_reveal: "揭晓", ph_paused: "暂停", ph_finished: "结束", ph_kicked: "已移出",
      daily: "每日答题", challenge: "挑战答题", daily_over: "今日答题完成", daily_right: "答对 {n}/{t} 题",
      challenge_over: "挑战结束", challenge_run: "连续答对 {n} 题", challenge_again: "再挑战一次"
    },
    en: {
      brand: "Leitai", tagline: "Step into the quiz arena", nickname: "Nickname", name_ph: "Your nickname",
      quick: "Quick match", duel: "Duel", four: "Four players", event: "Stage event", pin: "Event PIN",
      pin_ph: "6 digits", join: "Join", joining: "Joining…", team: "Team", pick_team: "Choose a team…",
      team_event: "Team event", reconnecting: "Reconnecting…", finding: "Finding opponents…",
      waited: "Waiting {s}s", cancel: "Cancel", found: "Opponents found", rating: "Rating {r}",
      get_ready: "Get ready", go: "Go!", waiting_host: "Waiting for the host", n_players: "{n} players joined",
      q_of: "Question {i}/{n}", submit: "Submit", submitted: "Submitted", too_late: "Too late", times_up: "Time's up",
      question_closed: "Question closed", answered: "Answered {a}/{b}", type_multi: "Pick all that apply, then submit",
      text_ph: "Your answer", tf_T: "True", tf_F: "False", right: "Correct",
      wrong: "Wrong", no_answer: "No answer", voided: "Question voided", the_answer: "Answer: {a}",
      your_answer: "Your answer: {a}", explanation: "Explanation: ", streak: "{n} in a row", score: "Score",
      rank: "Rank {n}", scoreboard: "Leaderboard", teams: "Teams", paused: "Paused",
      paused_sub: "The host paused the game", left_s: "{s}s left", kicked: "You were removed",
      final: "Final standings", you_win: "You win!", you_rank: "You finished #{n}", awarded: "Points awarded: {p}",
      again: "Play again", back: "Back to start", next_q: "Waiting for the next question…", pts: "{p} pts",
      err_name: "Please enter a nickname", err_pin: "Enter the 6-digit PIN", err_pin_missing: "No event with this PIN",
      err_team: "Please choose a team", err_full: "Full, or the event has started and late join is off",
      err_busy: "You are already in a queue or a game", err_bad: "Refused: {m}", err_generic: "Something went wrong: {m}",
      timeout: "No opponents found. Please try again later.", expired: "Session expired, please start again",
      replaced: "The game was opened in another tab", closed: "Disconnected",
      youre_in: "You're in!", youre_in_team: "Team: {t}", rematch_wait: "Waiting for your opponents to accept…",
      rematch_offer: "{n} wants a rematch", accept: "Accept", decline: "No thanks", rematch_left: "{s}s to answer",
      rematch_new: "No rematch: finding you new opponents",
      ph_start: "Home", ph_queue: "Queue", ph_lobby: "Lobby", ph_countdown: "Countdown",
      ph_question: "Question", ph_reveal: "Reveal", ph_paused: "Paused", ph_finished: "Finished", ph_kicked: "Removed",
      daily: "Daily practice", challenge: "Challenge", daily_over: "Today's practice is done", daily_right: "{n} of {t} right",
      challenge_over: "Challenge over", challenge_run: "{n} right in a row", challenge_again: "Try again"
    }
  });
  var T = I.t.bind(I);
  var $ = function (id) { return document.getElementById(id); };

  // h builds an element. Strings become text nodes / textContent, never HTML.
  function h(tag, props, kids) {
    var el = document.createElement(tag);
    Object.keys(props || {}).forEach(function (k) {
      var v = props[k];
      if (v == null || v === false) return;
      if (k === "text") el.textContent = v;
      else if (k === "class") el.className = v;
      else if (k === "data") Object.keys(v).forEach(function (d) { el.dataset[d] = v[d]; });
      else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : v);
    });
    (kids || []).forEach(function (c) {
      if (c != null) el.appendChild(typeof c === "object" ? c : document.createTextNode(c));
    });
    return el;
  }

  var session = null, sessName = "", myId = "";
  var phase = "start", prePause = "question"; // prePause: the view to show under the paused overlay
  var room = null, queue = null; // queue: {ticket, mode, since}
  var evInfo = null, lookupSeq = 0; // result of the PIN lookup
  var kickedReason = "";

  function newRoom(id, kind) {
    return { id: id, kind: kind || "", title: "", index: 0, total: 0, deadline: 0, limit: 0, remaining: 0, startsAt: 0,
      players: 0, answered: 0, score: 0, rank: 0, streak: 0, people: [], top: [], teams: [], q: null, final: null };
  }
  // Per-question UI state lives in room.q so a re-render (language switch,
  // reconnect) restores selection, typed text and submit status.
  function newQ(index, question) {
    return { index: index, question: question, sel: [], text: "", sent: false, ack: "", reveal: null };
  }
  function isSolo() { return room && (room.kind === "daily" || room.kind === "challenge"); }
  function isMatch() { return room && room.kind !== "event" && !isSolo(); }

  // ---- session ----------------------------------------------------------
  function ensureSession(name) {
    if (session && name && name !== sessName) { // a new nickname needs a new guest
      session.close(); session = null;
      sessionStorage.removeItem("leitai.resume");
    }
    if (session) return session;
    sessName = name || localStorage.getItem("leitai.name") || "玩家";
    sessionStorage.setItem("leitai.sessname", sessName);
    // Callbacks of a session we have replaced are ignored.
    var s = session = new L.Session({
      storageKey: "leitai.resume",
      i18n: I,
      // A registered member plays as their account (the token me.js keeps).
      hello: function () { var mt = localStorage.getItem("leitai.member_token"); return mt ? { token: mt } : { name: sessName }; },
      onMessage: function (m) { if (s === session) onMessage(m); },
      onStatus: function (st, d) { if (s === session) onStatus(st, d); }
    });
    s.start();
    return s;
  }

  function onStatus(st, detail) {
    $("conn-banner").hidden = st !== "reconnecting";
    if (st === "open") {
      myId = (detail && detail.player && detail.player.id) || myId;
      // Back without the resume (grace window over): the queue and room are gone.
      if (!detail.resumed && session.hadWelcome && (phase === "queue" || /^(lobby|countdown|question|reveal|paused)$/.test(phase))) {
        toStart(T("expired"));
      }
      session.hadWelcome = true;
    } else if (st === "closed") { // 4001 replaced, 4003 kicked, 1008 policy, or hello refused
      var s = session;
      session = null;
      s.close();
      if (phase !== "kicked") toStart(detail === 4001 ? T("replaced") : typeof detail === "string" ? T("err_bad", { m: detail }) : T("closed"));
    }
  }

  function errText(e) {
    e = e || {};
    if (I.hasServerText(e)) return I.serverText(e);
    if (e.code === "wrong_phase") return T("err_busy");
    if (e.code === "room_full") return T("err_full");
    if (e.code === "not_found") return T("err_pin_missing");
    if (e.code === "bad_request") return /team/i.test(e.message || "") ? T("err_team") : T("err_bad", { m: e.message || "" });
    return T("err_generic", { m: e.message || e.code || "?" });
  }

  // ---- server messages --------------------------------------------------
  // Errors are handled where the request was made (promise rejections).
  function onMessage(m) {
    var d = m.data || {}, t = m.type;
    if (t === "match.queued") {
      var wantCancel = queue && queue.cancel;
      queue = { ticket: d.ticket, mode: d.mode || (queue && queue.mode), since: (queue && queue.since) || Date.now() };
      sessionStorage.setItem("leitai.queue", JSON.stringify(queue)); // restores the queue screen after a reload
      if (wantCancel) cancelQueue();
      else if (phase === "finished" && room && room.rematch) { // the rematch fell through: a new match instead
        queue.note = T("rematch_new");
        room = null;
        setPhase("queue");
      }
    } else if (t === "match.rematch_offer") {
      if (room && room.id === d.room && phase === "finished") { room.offer = d; render(); }
    } else if (t === "match.rematch_cancelled") {
      if (room && room.id === d.room) { room.offer = null; if (!room.rematch) render(); }
    } else if (t === "match.cancelled" || t === "match.timeout") {
      if (phase === "queue") toStart(t === "match.timeout" ? T("timeout") : "");
    } else if (t === "match.found") {
      clearQueue();
      room = newRoom(d.room, d.mode || "duel");
      room.people = (d.players || []).map(function (p) { return { id: p.id, name: p.name, score: 0, rating: p.rating }; });
      setPhase("countdown");
    } else if (t === "room.state") {
      onRoomState(d);
    } else if (room && (!d.room || d.room === room.id)) {
      onRoomMessage(t, d);
    }
  }

  function onRoomMessage(t, d) {
    var r = room;
    switch (t) {
      case "room.joined": r.players = d.count || r.players + 1; return renderLive();
      case "countdown": r.startsAt = d.starts_at; r.index = d.index || 0; return setPhase("countdown");
      case "question":
        r.index = d.index; r.total = d.total || r.total; r.deadline = d.deadline; r.limit = d.time_limit_ms; r.answered = 0;
        if (!r.q || r.q.index !== d.index) r.q = newQ(d.index, d.question);
        return setPhase("question");
      case "answer.ack":
        if (r.q && r.q.index === d.index) { r.q.sent = true; r.q.ack = d.accepted === false ? "too_late" : "submitted"; renderLive(); }
        return;
      case "progress":
        if (d.index === r.index) { r.answered = d.answered; r.players = d.of || r.players; renderLive(); }
        return;
      case "reveal":
        if (!r.q || r.q.index !== d.index) r.q = newQ(d.index, null);
        r.q.reveal = d;
        if (d.you) { r.score = d.you.score; r.rank = d.you.rank; r.streak = d.you.streak; upsert(myId, null, d.you.score); }
        return setPhase("reveal");
      case "scoreboard":
        r.top = d.top || []; r.teams = d.teams || r.teams; mergeScores(r.top);
        return phase === "reveal" ? render() : renderBars();
      case "paused":
        if (phase !== "paused") prePause = phase;
        r.remaining = d.remaining_ms || 0;
        return setPhase("paused");
      case "resumed":
        if (d.deadline) r.deadline = d.deadline;
        return setPhase(prePause);
      case "kicked": kickedReason = I.serverText({ reason: d.code, message: d.reason || "" }); return setPhase("kicked");
      case "room.finished":
        r.final = d; r.top = d.standings || r.top; mergeScores(r.top);
        if (d.you) { r.score = d.you.score; r.rank = d.you.rank; }
        document.dispatchEvent(new CustomEvent("leitai:finished", { detail: { room: r.id, kind: r.kind } }));
        return setPhase("finished");
    }
  }

  // onRoomState rebuilds the whole room from a snapshot (join, resume, restart).
  function onRoomState(d) {
    if (d.phase === "finished" && (!room || room.id !== d.room)) return; // an old, finished room
    clearQueue();
    var r = room = room && room.id === d.room ? room : newRoom(d.room);
    r.kind = d.kind || r.kind; r.title = d.title || r.title;
    r.index = d.index || 0; r.total = d.total || r.total; r.deadline = d.deadline || 0; r.limit = d.time_limit_ms || r.limit;
    r.remaining = d.remaining_ms || 0; r.players = d.players || 0; r.answered = d.answered || 0;
    if (d.phase === "countdown") r.startsAt = d.deadline || r.startsAt;
    (d.members || []).forEach(function (mb) { upsert(mb.id, mb.name, mb.score); });
    if (d.scoreboard) { r.top = d.scoreboard.top || []; r.teams = d.scoreboard.teams || []; mergeScores(r.top); }
    var you = d.you || {};
    r.score = you.score || 0; r.rank = you.rank || 0; r.streak = you.streak || 0;
    if (you.name) r.me = { name: you.name, team: you.team || "" };
    if (d.question && (!r.q || r.q.index !== r.index)) r.q = newQ(r.index, d.question);
    else if (d.question) r.q.question = d.question;
    var q = r.q && r.q.index === r.index ? r.q : null;
    // Our own answer to the current question, as the server recorded it.
    var rec = (you.answers || []).filter(function (a) { return a.index === r.index; })[0];
    if (q && (you.answered || rec)) {
      q.sent = true; q.ack = q.ack || "submitted";
      if (rec && rec.choice) q.sel = rec.choice.slice();
      if (rec && rec.text) q.text = rec.text;
    }
    if (q && d.phase === "reveal" && rec && rec.correct != null && !q.reveal) {
      q.reveal = { correct: null, you: { correct: rec.correct, points: rec.points } };
    }
    if (d.phase === "paused") prePause = q && !q.reveal ? "question" : "reveal";
    if (d.phase === "finished" && !r.final) r.final = { standings: r.top, teams: r.teams, you: { rank: r.rank, score: r.score } };
    setPhase(d.phase || "lobby");
  }

  // Match rooms show every player's score; people is that list, kept in order.
  function upsert(id, name, score) {
    if (!room || !id) return;
    var p = room.people.filter(function (x) { return x.id === id; })[0];
    if (!p) {
      if (!isMatch() || name == null) return;
      room.people.push(p = { id: id, name: name, score: 0 });
    }
    if (name != null) p.name = name;
    if (score != null) p.score = score;
  }
  function mergeScores(list) { (list || []).forEach(function (s) { upsert(s.id, s.name, s.score); }); }

  // ---- actions ----------------------------------------------------------
  function readName() {
    var n = $("name").value.trim();
    if (!n) { showMsg(T("err_name")); $("name").focus(); return ""; }
    localStorage.setItem("leitai.name", n);
    return n;
  }

  function findMatch(mode) {
    var name = readName();
    if (!name) return;
    queue = { ticket: "", mode: mode, since: Date.now() };
    setPhase("queue");
    ensureSession(name).send("match.find", { mode: mode, lang: I.lang === "en" ? "en" : "zh" }).catch(function (e) {
      if (phase === "queue") toStart(errText(e));
    });
  }

  // startSolo starts (or goes back to) today's daily practice or a
  // challenge run: a room of one, whose state follows solo.started.
  function startSolo(kind) {
    var name = readName();
    if (!name) return Promise.resolve(false);
    showMsg("");
    return ensureSession(name).send("solo.start", { kind: kind, lang: I.lang === "en" ? "en" : "zh" }).then(function (d) {
      d = d || {};
      if (!room || room.id !== d.room) { room = newRoom(d.room, d.kind || kind); setPhase("countdown"); }
      return true;
    }, function (e) { showMsg(errText(e)); return false; });
  }

  function cancelQueue() {
    if (!queue || !session) return toStart();
    if (!queue.ticket) { queue.cancel = true; return; } // cancel as soon as the ticket arrives
    session.send("match.cancel", { ticket: queue.ticket }).then(function () { toStart(); }, function (e) {
      // not_found: the ticket already became a match (match.found follows) or timed out.
      if (e.code !== "not_found") toStart();
    });
  }

  // lookupPin asks GET /api/v1/pins/{pin} for {title, team_mode, teams,
  // late_join}. Only a JSON 404 means "no such PIN"; anything else lets the
  // WebSocket join decide.
  function lookupPin(pin) {
    var seq = ++lookupSeq;
    evInfo = null;
    renderEventInfo();
    if (!/^\d{6}$/.test(pin)) return Promise.resolve(null);
    var set = function (info) { if (seq === lookupSeq) { evInfo = info; renderEventInfo(); } return evInfo; };
    return fetch("/api/v1/pins/" + pin, { headers: { Accept: "application/json" } }).then(function (res) {
      return res.json().catch(function () { return null; }).then(function (b) {
        if (res.ok && b) return set({ pin: pin, title: b.title || "", teams: b.teams || [] });
        return set({ pin: pin, missing: res.status === 404 && !!(b && b.error), unknown: true });
      });
    }, function () { return set({ pin: pin, unknown: true }); });
  }

  function joinEvent() {
    var name = readName(), pin = $("pin").value.trim(), btn = $("btn-join");
    if (!name) return;
    if (!/^\d{6}$/.test(pin)) { showMsg(T("err_pin")); return $("pin").focus(); }
    btn.disabled = true; btn.textContent = T("joining");
    var done = function (msg) { btn.disabled = false; btn.textContent = T("join"); if (msg) showMsg(msg); };
    (evInfo && evInfo.pin === pin ? Promise.resolve(evInfo) : lookupPin(pin)).then(function (info) {
      if (info && info.missing) return done(T("err_pin_missing"));
      var team = $("team").value, data = { pin: pin, name: name };
      if (info && info.teams && info.teams.length && !team) { done(T("err_team")); return $("team").focus(); }
      if (team) data.team = team;
      // The reply is a room.state, which onMessage also receives and renders.
      ensureSession(name).send("event.join", data).then(function () { done(); }, function (e) { done(errText(e)); });
    });
  }

  function sendAnswer() {
    var q = room && room.q;
    if (!q || !q.question || q.sent || phase !== "question") return;
    var data = { room: room.id, index: q.index };
    if (q.question.type === "text") {
      if (!q.text.trim()) return;
      data.text = q.text;
    } else {
      if (!q.sel.length) return;
      data.choice = q.sel.slice().sort();
    }
    q.sent = true;
    render();
    session.send("answer", data).catch(function (e) {
      if (!room || room.q !== q) return;
      // unavailable: lost with the connection; the room.state after the resume says whether it counted.
      if (e.code === "unavailable") q.sent = false;
      else q.ack = { too_late: "too_late", wrong_phase: "question_closed" }[e.code] || "err";
      render();
    });
  }

  function pick(key) {
    var q = room.q;
    if (q.sent || phase !== "question" || expired()) return;
    if (q.question.type !== "multi") { q.sel = [key]; return sendAnswer(); }
    var i = q.sel.indexOf(key);
    if (i >= 0) q.sel.splice(i, 1); else q.sel.push(key);
    render();
  }

  function leaveRoom() {
    if (room && session) {
      if (isMatch() && (room.rematch || room.offer)) session.send("match.rematch_decline", { room: room.id }).catch(function () {});
      session.send("room.leave", { room: room.id }).catch(function () {});
    }
    toStart();
  }

  // playAgain asks the same opponents for a rematch (or accepts theirs); if
  // the server has no rematch to offer, it looks for a new match of the same kind.
  function playAgain() {
    var r = room;
    if (!r || !session) return;
    r.rematch = true;
    render();
    session.send("match.rematch", { room: r.id }).catch(function () {
      if (room !== r) return;
      var mode = r.kind === "four" ? "four" : "duel";
      room = null;
      queue = { ticket: "", mode: mode, since: Date.now() };
      setPhase("queue");
      session.send("match.find", { mode: mode, lang: I.lang === "en" ? "en" : "zh" }).catch(function (e) { if (phase === "queue") toStart(errText(e)); });
    });
  }
  function declineRematch() {
    if (!room || !session) return;
    session.send("match.rematch_decline", { room: room.id }).catch(function () {});
    room.offer = null;
    render();
  }
  function clearQueue() { queue = null; sessionStorage.removeItem("leitai.queue"); }
  function toStart(msg) { clearQueue(); room = null; setPhase("start"); showMsg(msg || ""); }
  function showMsg(text) { var el = $("start-msg"); el.textContent = text; el.hidden = !text; }

  // ---- rendering --------------------------------------------------------
  function setPhase(p) {
    phase = p;
    document.body.dataset.phase = p;
    $("phase").dataset.phase = p;
    render();
  }

  function render() {
    $("phase").textContent = T("ph_" + phase);
    $("screen-start").hidden = phase !== "start";
    $("queue").hidden = phase !== "queue";
    $("room").hidden = phase === "start" || phase === "queue";
    $("queue-mode").textContent = queue ? T(queue.mode === "four" ? "four" : "duel") + (queue.note ? " · " + queue.note : "") : "";
    if (room && !$("room").hidden) renderRoom();
    tick();
  }

  function renderBars() {
    $("room-title").textContent = room.title || T(/^(four|duel|daily|challenge)$/.test(room.kind) ? room.kind : "event");
    $("room-index").textContent = room.total && !/lobby|countdown|kicked/.test(phase) ? T("q_of", { i: Math.min(room.index + 1, room.total), n: room.total }) : "";
    $("score").textContent = String(room.score || 0);
    $("room-rank").textContent = room.rank ? T("rank", { n: room.rank }) : "";
    var bar = $("players-bar");
    bar.textContent = "";
    bar.hidden = !isMatch() || !room.people.length;
    room.people.forEach(function (p) {
      bar.appendChild(h("li", { class: p.id === myId ? "me" : "" }, [
        h("span", { class: "pname", text: p.name }), h("b", { class: "pscore", text: String(p.score || 0) })]));
    });
  }

  function renderRoom() {
    renderBars();
    $("paused-overlay").hidden = phase !== "paused";
    var st = $("stage"), view = phase === "paused" ? prePause : phase;
    st.textContent = "";
    if (view === "lobby") {
      st.appendChild(h("div", { class: "panel center" }, [
        room.title ? h("h2", { class: "event-title", text: room.title }) : null,
        room.me ? h("div", { id: "youre-in", class: "youre-in" }, [h("span", { class: "tick", text: "✓" }),
          h("div", {}, [h("p", { class: "yi-head", text: T("youre_in") }), h("p", { class: "yi-name", text: room.me.name }),
            room.me.team ? h("p", { class: "yi-team", text: T("youre_in_team", { t: room.me.team }) }) : null])]) : null,
        h("div", { class: "spinner" }), h("p", { class: "lead", text: T("waiting_host") }),
        h("p", { id: "lobby-count", class: "muted" })]));
    } else if (view === "countdown") {
      if (isMatch() && room.people.length) { // who we play against
        st.appendChild(h("p", { class: "lead center", text: T("found") }));
        st.appendChild(h("ul", { class: "versus" }, room.people.map(function (p) {
          return h("li", { class: p.id === myId ? "me" : "" }, [h("b", { text: p.name }),
            h("span", { class: "muted", text: p.rating ? T("rating", { r: Math.round(p.rating) }) : "" })]);
        })));
      }
      st.appendChild(h("div", { class: "countdown-num", id: "countdown-num" }));
    } else if (view === "question" || view === "reveal") {
      renderQuestion(st, view === "reveal");
    } else if (view === "finished") {
      renderFinal(st);
    } else if (view === "kicked") {
      st.appendChild(h("div", { class: "panel center" }, [h("h2", { text: T("kicked") }), h("p", { class: "muted", text: kickedReason }),
        h("button", { class: "btn big primary", type: "button", text: T("back"), onclick: function () { toStart(); } })]));
    }
    renderLive();
  }

  function renderQuestion(st, revealed) {
    var q = room.q;
    if (!revealed && !(q && q.question)) return st.appendChild(h("p", { class: "lead center", text: T("next_q") }));
    q = q || newQ(room.index, null);
    var rv = q.reveal, correct = (rv && rv.correct) || [], qq = q.question || { type: "", options: [] }, type = qq.type;
    var locked = revealed || q.sent || expired() || phase === "paused";
    var box = h("div", { id: "question", class: "question", data: { index: String(q.index) } });
    if (!revealed) box.appendChild(h("div", { class: "timer" }, [h("div", { class: "timer-fill", id: "timer-fill" }), h("span", { class: "timer-num", id: "timer-num" })]));
    if (q.question) box.appendChild(h("p", { class: "qtext", text: qq.text }));
    if (type === "multi" && !revealed) box.appendChild(h("p", { class: "hint", text: T("type_multi") }));
    if (qq.options && qq.options.length) {
      box.appendChild(h("div", { class: "options" + (type === "truefalse" ? " tf" : "") }, qq.options.map(function (o) {
        var chosen = q.sel.indexOf(o.key) >= 0, right = correct.indexOf(o.key) >= 0, n = rv && rv.stats && rv.stats[o.key];
        var cls = "option" + (chosen ? " chosen" : "") + (right ? " correct" : "") + (chosen && !right && correct.length ? " wrong" : "");
        return h("button", { class: cls, type: "button", data: { key: o.key }, disabled: locked, "aria-pressed": String(chosen),
          onclick: function () { pick(o.key); } }, [
          h("span", { class: "okey", text: type === "truefalse" ? (o.key === "T" ? "✓" : "✗") : o.key }),
          h("span", { class: "otext", text: o.text || (type === "truefalse" ? T("tf_" + o.key) : "") }),
          n != null ? h("span", { class: "count", text: String(n) }) : null]);
      })));
    }
    if (type === "text" && !revealed) {
      var inp = h("input", { id: "text-answer", type: "text", maxlength: "200", autocomplete: "off", enterkeyhint: "send",
        placeholder: T("text_ph"), disabled: locked, oninput: function () { q.text = inp.value; },
        onkeydown: function (e) { if (e.key === "Enter") sendAnswer(); } });
      inp.value = q.text;
      box.appendChild(inp);
    }
    if ((type === "text" || type === "multi") && !revealed) {
      box.appendChild(h("button", { id: "btn-submit", class: "btn big primary", type: "button", text: T("submit"), disabled: locked, onclick: sendAnswer }));
    }
    // #ack stays in the reveal too: a question can close right after our answer.
    box.appendChild(h("p", { id: "ack", class: "ack", role: "status", "aria-live": "polite" }));
    if (!revealed) box.appendChild(h("p", { id: "progress", class: "muted small" }));
    // The verdict goes first so a phone shows it without scrolling.
    if (revealed) st.appendChild(renderReveal(q, type));
    st.appendChild(box);
    if (revealed && room.top.length && !isMatch()) st.appendChild(renderBoard());
    if (!locked && inp) inp.focus();
  }

  function renderReveal(q, type) {
    var rv = q.reveal || {}, you = rv.you || {}, ok = !!you.correct, key = (rv.correct || []).join(type === "text" ? " / " : ", ");
    var box = h("div", { id: "reveal", class: "reveal " + (rv.skipped ? "void" : ok ? "good" : "bad"), data: { correct: String(ok) } }, [
      h("div", { class: "verdict" }, [h("span", { text: T(rv.skipped ? "voided" : ok ? "right" : q.sent ? "wrong" : "no_answer") }),
        h("b", { class: "points", text: "+" + (you.points || 0) })])]);
    // Choice questions show the answer on the buttons; text ones (or a reveal without the question) spell it out.
    if (key && (type === "text" || !q.question)) box.appendChild(h("p", { text: T("the_answer", { a: key }) }));
    if (type === "text" && q.sent && q.text) box.appendChild(h("p", { class: "muted", text: T("your_answer", { a: q.text }) }));
    if (rv.explanation) box.appendChild(h("p", { class: "explain" }, [h("b", { text: T("explanation") }), rv.explanation]));
    box.appendChild(h("p", { class: "muted small", text: T("score") + " " + (room.score || 0) + (room.rank ? " · " + T("rank", { n: room.rank }) : "") +
      (room.streak > 1 ? " · " + T("streak", { n: room.streak }) : "") }));
    return box;
  }

  // row is one line of a ranking: rank badge, name (· team), score.
  function row(rank, name, team, score, cls, data) {
    return h("li", { class: cls, data: data }, [h("span", { class: "rk", text: String(rank) }),
      h("span", { class: "nm", text: name + (team ? " · " + team : "") }), h("b", { text: String(score) })]);
  }
  function board(title, rows) { return h("div", { class: "panel" }, [h("h3", { text: title }), h("ol", { class: "board" }, rows)]); }
  function teamRows(teams) { return teams.map(function (t) { return row(t.rank, t.team, "", t.score, ""); }); }

  function renderBoard() {
    return h("div", { class: "boards" }, [
      board(T("scoreboard"), room.top.map(function (s) { return row(s.rank, s.name, s.team, s.score, s.id === myId ? "me" : ""); })),
      room.teams && room.teams.length ? board(T("teams"), teamRows(room.teams)) : null]);
  }

  function renderFinal(st) {
    var f = room.final || {}, you = f.you || {}, rank = you.rank || room.rank, pa = you.points_awarded;
    if (isSolo()) return renderSoloFinal(st, you.score != null ? you.score : room.score, pa);
    st.appendChild(h("div", { class: "panel center" }, [
      h("h2", { class: "final-head", text: rank === 1 && isMatch() ? T("you_win") : rank ? T("you_rank", { n: rank }) : T("final") }),
      h("p", { class: "big-number", text: T("pts", { p: you.score != null ? you.score : room.score }) }),
      pa ? h("p", { class: "awarded", text: T("awarded", { p: (pa > 0 ? "+" : "") + pa }) }) : null]));
    var fin = board(T("final"), (f.standings || []).map(function (s) {
      var me = s.id ? s.id === myId : s.rank === rank;
      return row(s.rank, s.name, s.team, s.score, "standing" + (me ? " me" : ""), { rank: String(s.rank), name: s.name });
    }));
    fin.id = "final";
    st.appendChild(fin);
    if (f.teams && f.teams.length) st.appendChild(board(T("teams"), teamRows(f.teams)));
    if (room.offer && !room.rematch) { // an opponent asks for a rematch
      var from = (room.offer.from && room.offer.from.name) || "?";
      // First on the page, so a phone shows it without scrolling.
      st.insertBefore(h("div", { id: "rematch-offer", class: "panel center rematch" }, [
        h("p", { class: "lead", text: T("rematch_offer", { n: from }) }), h("p", { id: "rematch-left", class: "muted small" }),
        h("div", { class: "btn-row" }, [
          h("button", { id: "btn-accept", class: "btn big primary", type: "button", text: T("accept"), onclick: playAgain }),
          h("button", { id: "btn-decline", class: "btn big ghost", type: "button", text: T("decline"), onclick: declineRematch })])]), st.firstChild);
    }
    if (room.rematch) {
      st.insertBefore(h("div", { id: "rematch-wait", class: "panel center rematch" }, [h("div", { class: "spinner" }),
        h("p", { class: "lead", text: T("rematch_wait") }),
        h("button", { id: "btn-back", class: "btn big ghost", type: "button", text: T("back"), onclick: leaveRoom })]), st.firstChild);
      return;
    }
    st.appendChild(h("button", { id: "btn-again", class: "btn big primary", type: "button", text: T("again"), onclick: isMatch() ? playAgain : leaveRoom }));
  }

  // A solo room's end: the practice's right answers or the run's length,
  // the points it paid, and the way back (or another run).
  function renderSoloFinal(st, score, pa) {
    var daily = room.kind === "daily";
    st.appendChild(h("div", { id: "solo-final", class: "panel center", data: { kind: room.kind, score: String(score || 0) } }, [
      h("h2", { class: "final-head", text: T(daily ? "daily_over" : "challenge_over") }),
      h("p", { class: "big-number", text: String(score || 0) }),
      h("p", { class: "lead", text: daily ? T("daily_right", { n: score || 0, t: room.total || 5 }) : T("challenge_run", { n: score || 0 }) }),
      pa ? h("p", { class: "awarded", text: T("awarded", { p: (pa > 0 ? "+" : "") + pa }) }) : null]));
    var row = h("div", { class: "btn-row" }, [
      daily ? null : h("button", { id: "btn-again", class: "btn big primary", type: "button", text: T("challenge_again"), onclick: function () { leaveRoom(); startSolo("challenge"); } }),
      h("button", { id: "btn-back", class: "btn big " + (daily ? "primary" : "ghost"), type: "button", text: T("back"), onclick: leaveRoom })]);
    st.appendChild(row);
  }

  // renderLive updates the small parts that change without a phase change.
  function renderLive() {
    var el = $("ack"), q = room && room.q;
    if (el && q) {
      var key = q.ack || (q.sent ? "" : expired() ? "times_up" : "");
      el.textContent = key === "err" ? T("err_generic", { m: "" }) : key ? T(key) : "";
      el.className = "ack" + (key === "submitted" ? " ok" : key ? " late" : "") + (phase === "reveal" ? " static" : "");
    }
    if ((el = $("progress"))) el.textContent = room.players ? T("answered", { a: room.answered, b: room.players }) : "";
    if ((el = $("lobby-count"))) el.textContent = T("n_players", { n: room.players });
  }

  function renderEventInfo() {
    var info = evInfo && !evInfo.unknown ? evInfo : null, teams = (info && info.teams) || [], box = $("event-info");
    box.textContent = "";
    box.hidden = !(info || (evInfo && evInfo.missing));
    if (evInfo && evInfo.missing) box.appendChild(h("span", { class: "warn", text: T("err_pin_missing") }));
    if (info) box.appendChild(h("b", { text: info.title }));
    if (teams.length) box.appendChild(h("span", { class: "tag", text: T("team_event") }));
    var sel = $("team"), keep = sel.value;
    sel.textContent = "";
    $("team-field").hidden = !teams.length;
    if (teams.length) sel.appendChild(h("option", { value: "", text: T("pick_team") }));
    teams.forEach(function (t) { sel.appendChild(h("option", { value: t, text: t })); });
    sel.value = teams.indexOf(keep) >= 0 ? keep : "";
  }

  // ---- clocks -----------------------------------------------------------
  // Every countdown runs against the server's clock (deadline − offset), so a
  // phone whose clock is minutes off still shows the right time.
  function now() { return session ? session.serverNow() : Date.now(); }
  function expired() { return phase === "question" && room && room.deadline > 0 && room.deadline - now() <= 0; }

  function tick() {
    if (phase === "queue" && queue) $("queue-elapsed").textContent = T("waited", { s: Math.floor((Date.now() - queue.since) / 1000) });
    if (!room) return;
    var ol = $("rematch-left");
    if (ol && room.offer) ol.textContent = T("rematch_left", { s: Math.max(0, Math.ceil((room.offer.expires_at - now()) / 1000)) });
    var c = $("countdown-num");
    if (c) {
      var s = Math.ceil((room.startsAt - now()) / 1000);
      c.textContent = !room.startsAt ? T("get_ready") : s > 0 ? String(s) : T("go");
    }
    var left = Math.max(0, phase === "paused" ? room.remaining : room.deadline - now());
    if (phase === "paused") $("paused-left").textContent = left > 0 ? T("left_s", { s: Math.ceil(left / 1000) }) : "";
    var fill = $("timer-fill");
    if (!fill) return;
    fill.style.width = (room.limit ? Math.min(100, left / room.limit * 100) : 0).toFixed(1) + "%";
    fill.className = "timer-fill" + (left < 5000 ? " urgent" : "");
    $("timer-num").textContent = String(Math.ceil(left / 1000));
    // Lock the inputs once, the moment the deadline passes.
    if (phase === "question" && left <= 0 && room.q && !room.q.locked) { room.q.locked = true; render(); }
  }
  setInterval(tick, 100);

  // ---- wiring -----------------------------------------------------------
  function applyLang() {
    I.set(I.lang);
    I.apply();
    $("lang-toggle").textContent = I.lang === "zh" ? "EN" : "中";
    document.title = T("brand") + " · Leitai";
    renderEventInfo();
    render();
  }
  $("lang-toggle").addEventListener("click", function () { I.lang = I.lang === "zh" ? "en" : "zh"; applyLang(); });
  $("btn-duel").addEventListener("click", function () { findMatch("duel"); });
  $("btn-four").addEventListener("click", function () { findMatch("four"); });
  $("btn-join").addEventListener("click", joinEvent);
  $("btn-cancel").addEventListener("click", cancelQueue);
  $("pin").addEventListener("input", function () {
    var el = $("pin"), v = el.value.replace(/\D/g, "").slice(0, 6);
    if (v !== el.value) el.value = v;
    if (!evInfo || evInfo.pin !== v) lookupPin(v);
  });
  $("pin").addEventListener("keydown", function (e) { if (e.key === "Enter") joinEvent(); });
  $("name").addEventListener("change", function () { localStorage.setItem("leitai.name", $("name").value.trim()); });

  $("name").value = localStorage.getItem("leitai.name") || "";
  // The "me" card (me.js) starts the solo formats through this page's session.
  window.LeitaiPlayer = { solo: startSolo };
  var urlPin = (new URLSearchParams(location.search).get("pin") || "").replace(/\D/g, "").slice(0, 6);
  applyLang();
  if (urlPin) { $("pin").value = urlPin; lookupPin(urlPin); $("pin").focus(); }

  // A reload keeps the resume token (sessionStorage): reconnect at once so the
  // server re-attaches us and sends room.state for the room we were in.
  if (sessionStorage.getItem("leitai.resume")) {
    try { queue = JSON.parse(sessionStorage.getItem("leitai.queue") || "null"); } catch (e) { queue = null; }
    ensureSession(sessionStorage.getItem("leitai.sessname") || "");
    session.hadWelcome = true; // so a failed resume sends us back to start
    if (queue) setPhase("queue");
  }
})();
