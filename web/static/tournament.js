// A player's tournament page (/tournament?id=…): my qualifier attempts and
// rank, my next match with a countdown, and the buttons that go with where
// I stand (start an attempt, check in, go to my match). It speaks the same
// session as the player page (the resume token in sessionStorage, the
// member token in localStorage), so "play" just opens the player page,
// which resumes the session and finds the room. A match that opens while
// the page is open is pushed (tournament.match) and takes the player there.
"use strict";

(function () {
  const L = window.Leitai;
  const $ = (id) => document.getElementById(id);
  const I = new L.I18n({
    zh: {
      brand: "擂台", reconnecting: "连接中断，正在重连…", nickname: "昵称", enter: "进入", my_next: "我的下一场",
      my_attempts: "我的资格赛", score: "得分", time: "用时", see_bracket: "查看对阵图",
      start_attempt: "开始资格赛答题", check_in: "签到", go_play: "进入比赛",
      s_qualifier: "资格赛进行中", s_seeding: "资格赛已结束，等待抽签", s_not_entered: "未能晋级淘汰赛",
      s_waiting: "等待第 {round} 轮", s_check_in: "第 {round} 轮：请签到", s_checked: "第 {round} 轮：已签到，等待对手",
      s_playing: "第 {round} 轮：比赛进行中", s_eliminated: "止步第 {round} 轮", s_champion: "冠军！",
      final: "决赛", q_detail: "{q} 题 · {m} 分钟 · 最多 {a} 次，取最好成绩；已用 {used} 次",
      closes_in: "距资格赛结束", starts_in: "距开赛", vs: "对手：{who}", rank: "当前排名：第 {rank} 名", no_rank: "还没有成绩",
      seed: "种子号 {seed}", checked_in: "签到成功", match_ready: "比赛已就绪，正在进入…", no_id: "链接缺少赛事编号"
    },
    en: {
      brand: "Leitai", reconnecting: "Connection lost, reconnecting…", nickname: "Nickname", enter: "Enter", my_next: "My next match",
      my_attempts: "My qualifier", score: "Score", time: "Time", see_bracket: "See the bracket",
      start_attempt: "Start a qualifier attempt", check_in: "Check in", go_play: "Go to my match",
      s_qualifier: "The qualifier is open", s_seeding: "The qualifier is closed; the bracket is being drawn", s_not_entered: "Not in the knockout rounds",
      s_waiting: "Waiting for round {round}", s_check_in: "Round {round}: please check in", s_checked: "Round {round}: checked in, waiting",
      s_playing: "Round {round}: your match is on", s_eliminated: "Out in round {round}", s_champion: "Champion!",
      final: "Final", q_detail: "{q} questions · {m} minutes · up to {a} attempts, best counts; {used} used",
      closes_in: "Qualifier closes in", starts_in: "Starts in", vs: "Against: {who}", rank: "Your rank: {rank}", no_rank: "No result yet",
      seed: "Seed {seed}", checked_in: "Checked in", match_ready: "Your match is ready…", no_id: "The link has no tournament id"
    }
  });
  const params = new URLSearchParams(location.search);
  const id = params.get("id") || "";
  let session = null;
  let view = null;
  let names = {};
  let fetchedAt = 0;

  function say(text, bad) {
    $("msg").hidden = !text;
    $("msg").textContent = text || "";
    $("msg").classList.toggle("bad", !!bad);
  }
  const secs = (ms) => (ms / 1000).toFixed(1) + "s";
  function clockText(s) {
    s = Math.max(0, Math.floor(s));
    const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60, ss = s % 60;
    const two = (n) => String(n).padStart(2, "0");
    return (d ? d + "d " : "") + two(h) + ":" + two(m) + ":" + two(ss);
  }

  function render() {
    const v = view;
    if (!v) return;
    $("next").hidden = false;
    $("mine").hidden = false;
    let state = I.t("s_" + v.state, { round: v.round });
    if (v.state === "check_in" && v.checked_in) state = I.t("s_checked", { round: v.round });
    if (v.final && v.state !== "champion" && v.state !== "eliminated") state += " · " + I.t("final");
    $("next-state").textContent = state;
    $("next-state").dataset.state = v.state;
    const details = [];
    if (v.state === "qualifier" && v.qualifier) {
      details.push(I.t("q_detail", { q: v.qualifier.questions, m: v.qualifier.minutes, a: v.qualifier.attempts, used: v.attempts.length }));
    }
    if (v.seed) details.push(I.t("seed", { seed: v.seed }));
    if (v.opponents && v.opponents.length) details.push(I.t("vs", { who: v.opponents.map((p) => names[p] || p).join("、") }));
    $("next-detail").textContent = details.join(" · ");
    const q = v.qualifier;
    $("btn-attempt").hidden = !(v.state === "qualifier" && q && v.attempts.length < q.attempts);
    $("btn-checkin").hidden = !((v.state === "waiting" || v.state === "check_in") && !v.checked_in && v.check_in_at && Date.now() >= 0);
    $("btn-play").hidden = v.state !== "playing";
    tick();
    // My attempts, the best marked.
    const tb = $("attempts");
    tb.textContent = "";
    let best = null;
    v.attempts.forEach((a) => {
      if (!best || a.score > best.score || (a.score === best.score && a.total_ms < best.total_ms)) best = a;
    });
    v.attempts.forEach((a) => {
      const tr = document.createElement("tr");
      if (a === best) tr.className = "best";
      [a.num, a.score, secs(a.total_ms)].forEach((x) => { const td = document.createElement("td"); td.textContent = x; tr.append(td); });
      tb.append(tr);
    });
    $("my-rank").textContent = v.rank ? I.t("rank", { rank: v.rank }) : I.t("no_rank");
  }

  function tick() {
    const v = view;
    if (!v) return;
    const left = v.seconds_to - (Date.now() - fetchedAt) / 1000;
    const show = (v.state === "qualifier" || v.state === "waiting" || v.state === "check_in" || v.state === "seeding") && left > 0;
    $("countdown").hidden = !show;
    if (show) $("countdown").textContent = I.t(v.state === "qualifier" ? "closes_in" : "starts_in") + " " + clockText(left);
  }

  function refresh() {
    if (!session) return;
    session.send("tournament.next", { tournament: id }).then((v) => {
      view = v;
      fetchedAt = Date.now();
      render();
    }, (e) => say(I.serverText(e), true));
  }

  function play() { location.href = "/"; }

  function start(name) {
    $("who").hidden = true;
    if (name) sessionStorage.setItem("leitai.sessname", name);
    const nick = name || sessionStorage.getItem("leitai.sessname") || localStorage.getItem("leitai.name") || "玩家";
    session = new L.Session({
      storageKey: "leitai.resume",
      i18n: I,
      hello: () => { const mt = localStorage.getItem("leitai.member_token"); return mt ? { token: mt } : { name: nick }; },
      onStatus: (st) => {
        $("conn-banner").hidden = st !== "reconnecting";
        if (st === "open") refresh();
      },
      onMessage: (m) => {
        if (m.type === "tournament.match" && m.data && m.data.tournament === id) {
          say(I.t("match_ready"));
          setTimeout(play, 600);
        }
      }
    });
    session.start();
    setInterval(refresh, 5000);
    setInterval(tick, 1000);
  }

  $("btn-attempt").onclick = () => {
    $("btn-attempt").disabled = true;
    session.send("tournament.attempt", { tournament: id, lang: I.lang === "en" ? "en" : "zh" }).then(play, (e) => {
      $("btn-attempt").disabled = false;
      say(I.serverText(e), true);
    });
  };
  $("btn-checkin").onclick = () => {
    session.send("tournament.checkin", { tournament: id, round: view.round }).then(() => { say(I.t("checked_in")); refresh(); }, (e) => say(I.serverText(e), true));
  };
  $("btn-play").onclick = play;
  $("btn-enter").onclick = () => start($("name").value.trim());
  $("lang-toggle").onclick = () => {
    I.set(I.lang === "zh" ? "en" : "zh");
    $("lang-toggle").textContent = I.lang === "zh" ? "EN" : "中文";
    I.apply();
    render();
  };

  I.set(I.lang);
  $("lang-toggle").textContent = I.lang === "zh" ? "EN" : "中文";
  I.apply();
  $("bracket-link").href = "/bracket?id=" + encodeURIComponent(id);
  if (!id) { say(I.t("no_id"), true); $("next").hidden = false; return; }
  fetch("/api/v1/tournaments/" + encodeURIComponent(id) + "/view", { cache: "no-store" }).then((r) => r.json()).then((v) => {
    $("t-title").textContent = v.title || id;
    document.title = (v.title || id) + " · " + (I.lang === "zh" ? "我的赛事" : "My tournament");
    names = v.names || {};
  }).catch(() => {});
  if (localStorage.getItem("leitai.member_token") || sessionStorage.getItem("leitai.resume")) start("");
  else $("who").hidden = false;
})();
