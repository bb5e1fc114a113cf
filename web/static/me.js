// The "me" card of the player page. With an invitation (?invite=CODE in the
// link, or typed in) it registers the member and keeps their player token in
// localStorage, so the page plays as that account from then on; a member
// sees today's and this week's points and their rank in their unit and in
// the city, their latest awards, and buttons for the two solo formats
// (today's daily practice, done or not, and the challenge with their best
// run), which play through the player page's session. Plain browser JS.
"use strict";

(function () {
  const L = window.Leitai;
  const $ = (id) => document.getElementById(id);
  const KEY = "leitai.member_token";
  const DICT = {
    zh: {
      me: "我的积分", join_title: "加入学习组织", invite: "邀请码", register: "注册", today: "今日积分", week: "本周积分",
      unit_of: "单位排名\n共 {n} 人", city_of: "全市排名\n共 {n} 人", welcome: "欢迎，{name}！", bad_invite: "邀请码无效或已使用",
      err: "出错了：{msg}", daily: "每日答题", daily_todo: "今日未完成", daily_started: "进行中，点击继续", daily_done: "今日已完成 ✓",
      challenge: "挑战答题", best: "最佳 {n} 题", best_none: "还没有挑战记录", history: "积分明细", no_history: "还没有积分",
      src_duel: "双人对战", src_four: "四人赛", src_event: "现场活动", src_daily: "每日答题", src_challenge: "挑战答题", src_qualifier: "资格赛", src_team: "团队赛",
      capped: "已达今日上限"
    },
    en: {
      me: "My points", join_title: "Join your organization", invite: "Invitation code", register: "Register", today: "Today", week: "This week",
      unit_of: "in unit\nof {n}", city_of: "in city\nof {n}", welcome: "Welcome, {name}!", bad_invite: "Unknown or used invitation",
      err: "Error: {msg}", daily: "Daily practice", daily_todo: "Not done today", daily_started: "Under way: tap to go on", daily_done: "Done today ✓",
      challenge: "Challenge", best: "Best: {n} in a row", best_none: "No run yet", history: "My points history", no_history: "No points yet",
      src_duel: "Duel", src_four: "Four players", src_event: "Stage event", src_daily: "Daily practice", src_challenge: "Challenge", src_qualifier: "Qualifier", src_team: "Team match",
      capped: "over today's cap"
    }
  };
  // A fresh I18n reads the language the player page last chose.
  const T = (k, v) => new L.I18n(DICT).t(k, v);

  function say(text, bad) {
    $("me-msg").hidden = !text;
    $("me-msg").textContent = text || "";
    $("me-msg").classList.toggle("bad", !!bad);
  }

  async function call(method, path, body, token) {
    const headers = { "Content-Type": "application/json" };
    if (token) headers.Authorization = "Bearer " + token;
    const res = await fetch(path, { method: method, headers: headers, body: body ? JSON.stringify(body) : undefined, cache: "no-store" });
    const data = await res.json().catch(() => null);
    if (!res.ok) throw { status: res.status, code: ((data && data.error) || {}).code, message: ((data && data.error) || {}).message || res.statusText };
    return data;
  }

  async function register(code) {
    try {
      const r = await call("POST", "/api/v1/members/register", { invite: code });
      localStorage.setItem(KEY, r.token);
      localStorage.setItem("leitai.name", r.name);
      sessionStorage.removeItem("leitai.resume"); // a guest session is not this member
      if ($("name")) $("name").value = r.name;
      say(T("welcome", { name: r.name }));
      await show();
    } catch (e) {
      say(e && e.status === 404 ? T("bad_invite") : T("err", { msg: (e && e.message) || e }), true);
      render(false);
    }
  }

  function render(member) {
    $("me").hidden = false;
    $("me-title").textContent = T(member ? "me" : "join_title");
    $("me-join").hidden = member;
    $("me-stats").hidden = !member;
    $("me-solo").hidden = !member;
    $("me-history").hidden = !member;
    document.querySelectorAll("[data-me]").forEach((el) => { el.textContent = T(el.dataset.me); });
  }

  async function show() {
    const token = localStorage.getItem(KEY);
    if (!token) { render(false); return; }
    try {
      const [d, w, led] = await Promise.all([call("GET", "/api/v1/me?period=day", null, token), call("GET", "/api/v1/me?period=week", null, token),
        call("GET", "/api/v1/me/ledger?limit=20", null, token)]);
      render(true);
      const daily = (d.daily && d.daily.state) || "todo";
      $("me-daily").dataset.state = daily;
      $("me-daily").classList.toggle("done", daily === "done");
      $("me-daily-state").textContent = T("daily_" + daily);
      $("me-challenge").dataset.best = String(d.challenge_best || 0);
      $("me-challenge-best").textContent = d.challenge_best ? T("best", { n: d.challenge_best }) : T("best_none");
      showHistory(led || []);
      $("me-today").textContent = d.points || 0;
      $("me-week").textContent = w.points || 0;
      $("me-unit-rank").textContent = w.unit_rank || "–";
      $("me-city-rank").textContent = w.city_rank || "–";
      $("me-unit-of").textContent = T("unit_of", { n: w.unit_of || 0 });
      $("me-city-of").textContent = T("city_of", { n: w.city_of || 0 });
    } catch (e) {
      if (e && (e.status === 401 || e.status === 404)) { localStorage.removeItem(KEY); render(false); return; }
      render(true);
      say(T("err", { msg: (e && e.message) || e }), true);
    }
  }

  // showHistory lists the member's latest awards: when, what for, points.
  function showHistory(rows) {
    const list = $("me-history-list");
    list.textContent = "";
    if (!rows.length) {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = T("no_history");
      list.appendChild(li);
      return;
    }
    rows.forEach((a) => {
      const li = document.createElement("li");
      li.dataset.ref = a.ref;
      const what = document.createElement("span");
      const src = T("src_" + a.source);
      what.textContent = a.day + " · " + (src === "src_" + a.source ? a.source : src) + (a.paid < a.points ? " · " + T("capped") : "");
      const pts = document.createElement("b");
      pts.textContent = "+" + a.paid;
      if (a.paid < a.points) li.className = "capped";
      li.append(what, pts);
      list.appendChild(li);
    });
  }

  // The solo buttons play on the player page (player.js); a finished room
  // brings the card up to date.
  function solo(kind) {
    if (window.LeitaiPlayer) window.LeitaiPlayer.solo(kind);
  }
  $("me-daily").addEventListener("click", () => solo("daily"));
  $("me-challenge").addEventListener("click", () => solo("challenge"));
  document.addEventListener("leitai:finished", () => show());

  const q = new URLSearchParams(location.search);
  const invite = q.get("invite");
  if (invite) {
    q.delete("invite");
    history.replaceState(null, "", location.pathname + (q.toString() ? "?" + q : "") + location.hash);
    register(invite.trim());
  } else {
    show();
  }
  $("me-register").addEventListener("click", () => { const c = $("me-invite").value.trim(); if (c) register(c); });
  const lt = $("lang-toggle");
  if (lt) lt.addEventListener("click", () => setTimeout(show, 0));
  // Points arrive as the member plays: refresh when the page comes back.
  document.addEventListener("visibilitychange", () => { if (!document.hidden) show(); });
  setInterval(() => { if (!document.hidden && localStorage.getItem(KEY)) show(); }, 30000);
})();
