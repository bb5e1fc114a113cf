// Leitai organizer's tournament page (/tournaments): create a tournament
// (formats, times, sizes, pool, rules), edit it until its first round
// fires, and watch it run: the live bracket page framed here, the links of
// the player's page and the projectable bracket, and the final's host and
// screen links once the final is on stage. Plain browser JS.
"use strict";

(function () {
  const L = window.Leitai;
  const $ = (id) => document.getElementById(id);
  const TOKEN_KEY = "leitai.org_token";
  const I = new L.I18n({
    zh: {
      page_title: "擂台 · 赛事管理", to_admin: "活动与题库", org_token: "组织者令牌", save: "保存", saved: "已保存",
      list_title: "赛事", refresh: "刷新", col_title: "名称", col_id: "编号", col_format: "赛制", col_actions: "操作",
      create_title: "创建赛事", edit_title: "编辑赛事 {id}", f_id: "编号（可留空）", f_title: "赛事名称", f_format: "赛制",
      fmt_duel: "双人淘汰（胜者晋级）", fmt_four: "四人淘汰（前二晋级）", f_field: "进入淘汰赛人数", f_sets: "题库（逗号分隔）",
      f_categories: "分类（逗号分隔）", any: "不限", q_title: "资格赛", f_opens: "开始时间", f_closes: "结束时间",
      f_questions: "题目数", f_minutes: "时长（分钟）", f_attempts: "每人次数（取最好）", f_units: "限定单位（逗号分隔）", all_units: "所有人",
      k_title: "淘汰赛", f_first: "第一轮时间", f_gap: "轮次间隔（分钟）", f_checkin: "提前签到（秒）", f_grace: "迟到宽限（秒）",
      f_mq: "每场题数", f_ms: "每题限时（秒）", f_team: "团体赛", team_none: "个人赛", team_sum: "团体（总分）", team_mean: "团体（平均分）",
      f_team_size: "每队人数（如 2-5）", rounds_hint: "共 {n} 轮：{times}；最后一轮为决赛（舞台活动）",
      create: "创建赛事", update: "保存修改", new: "新建", created: "已创建", updated: "已保存",
      watch: "观看", edit: "编辑", bracket_link: "对阵图（投屏）", player_link: "选手页面", final_host: "决赛主持链接", final_screen: "决赛大屏链接",
      summary: "资格赛 {q} 人 · 淘汰赛 {e} 人 · 第 {r}/{n} 轮", champion: "冠军：{who}", round_state: "第 {n} 轮（{s}）",
      need_token: "请先填写组织者令牌", bad_time: "请填写资格赛和第一轮的时间", working: "处理中…"
    },
    en: {
      page_title: "Leitai · Tournaments", to_admin: "Events and banks", org_token: "Organizer token", save: "Save", saved: "Saved",
      list_title: "Tournaments", refresh: "Refresh", col_title: "Title", col_id: "Id", col_format: "Format", col_actions: "Actions",
      create_title: "Create a tournament", edit_title: "Edit tournament {id}", f_id: "Id (optional)", f_title: "Title", f_format: "Format",
      fmt_duel: "Duels (the winner advances)", fmt_four: "Fours (the top two advance)", f_field: "Knockout field", f_sets: "Question sets (comma-separated)",
      f_categories: "Categories (comma-separated)", any: "any", q_title: "Qualifier", f_opens: "Opens", f_closes: "Closes",
      f_questions: "Questions", f_minutes: "Minutes", f_attempts: "Attempts per member (best counts)", f_units: "Units only (comma-separated)", all_units: "everyone",
      k_title: "Knockout", f_first: "Round 1 at", f_gap: "Minutes between rounds", f_checkin: "Check-in opens (s before)", f_grace: "Grace for latecomers (s)",
      f_mq: "Questions per match", f_ms: "Seconds per question", f_team: "Teams", team_none: "Individual", team_sum: "Teams (sum)", team_mean: "Teams (mean)",
      f_team_size: "Team size (e.g. 2-5)", rounds_hint: "{n} rounds: {times}; the last is the final, on stage",
      create: "Create tournament", update: "Save changes", new: "New", created: "Created", updated: "Saved",
      watch: "Watch", edit: "Edit", bracket_link: "Bracket (projector)", player_link: "Player page", final_host: "Final: host link", final_screen: "Final: screen link",
      summary: "qualifier {q} · knockout {e} · round {r}/{n}", champion: "champion: {who}", round_state: "Round {n} ({s})",
      need_token: "Enter the organizer token first", bad_time: "Set the qualifier's and round 1's times", working: "Working…"
    }
  });
  let token = localStorage.getItem(TOKEN_KEY) || "";
  let editing = "";
  let watching = "";

  async function api(method, path, body) {
    const headers = { Authorization: "Bearer " + token };
    if (body) headers["Content-Type"] = "application/json";
    const res = await fetch(path, { method: method, headers: headers, body: body ? JSON.stringify(body) : undefined, cache: "no-store" });
    const data = await res.json().catch(() => null);
    if (!res.ok) throw { status: res.status, code: ((data && data.error) || {}).code, message: ((data && data.error) || {}).message || res.statusText };
    return data;
  }
  function say(el, text, bad) { $(el).textContent = text || ""; $(el).classList.toggle("bad", !!bad); }

  // rounds is how many knockout rounds a field needs (as the server counts).
  function rounds(format, n) {
    let r = 1, seats = format === "four" ? 4 : 2;
    while (seats < n) { seats *= 2; r++; }
    return r;
  }
  const local = (d) => { const z = new Date(d.getTime() - d.getTimezoneOffset() * 60000); return z.toISOString().slice(0, 16); };
  const iso = (v) => (v ? new Date(v).toISOString() : "");
  const list = (v) => v.split(/[,，]/).map((s) => s.trim()).filter(Boolean);

  function roundTimes() {
    const first = $("f-first").value;
    if (!first) return [];
    const n = rounds($("f-format").value, +$("f-field").value || 2);
    const gap = (+$("f-gap").value || 30) * 60000;
    const t0 = new Date(first).getTime();
    return Array.from({ length: n }, (_, i) => new Date(t0 + i * gap).toISOString());
  }
  function hint() {
    const ts = roundTimes();
    $("rounds-hint").textContent = ts.length ? I.t("rounds_hint", { n: ts.length, times: ts.map((t) => new Date(t).toLocaleString()).join(" · ") }) : "";
  }

  function body() {
    const cfg = {
      format: $("f-format").value, field: +$("f-field").value,
      pool: { sets: list($("f-sets").value), categories: list($("f-categories").value) },
      qualifier: { opens: iso($("f-opens").value), closes: iso($("f-closes").value), questions: +$("f-questions").value,
        minutes: +$("f-minutes").value, attempts: +$("f-attempts").value, units: list($("f-units").value) },
      rounds: roundTimes(), check_in_seconds: +$("f-checkin").value, grace_seconds: +$("f-grace").value,
      match_questions: +$("f-mq").value, match_seconds: +$("f-ms").value
    };
    if ($("f-team").value) {
      const [a, b] = $("f-team-size").value.split("-").map((x) => +x);
      cfg.teams = { min: a || 2, max: b || a || 5, mode: $("f-team").value };
    }
    const out = { title: $("f-title").value.trim(), config: cfg };
    if ($("f-id").value.trim()) out.id = $("f-id").value.trim();
    return out;
  }

  async function submit() {
    if (!token) return say("f-msg", I.t("need_token"), true);
    if (!$("f-opens").value || !$("f-closes").value || !$("f-first").value) return say("f-msg", I.t("bad_time"), true);
    say("f-msg", I.t("working"));
    try {
      const v = editing ? await api("PUT", "/api/v1/tournaments/" + encodeURIComponent(editing), body()) : await api("POST", "/api/v1/tournaments", body());
      say("f-msg", I.t(editing ? "updated" : "created"));
      await load();
      watch(v.id, v.title);
    } catch (e) {
      say("f-msg", e.message || e.code, true);
    }
  }

  function fill(v) {
    const c = v.config;
    editing = v.id;
    $("f-id").value = v.id; $("f-id").disabled = true;
    $("f-title").value = v.title;
    $("f-format").value = c.format; $("f-field").value = c.field;
    $("f-sets").value = (c.pool.sets || []).join(", "); $("f-categories").value = (c.pool.categories || []).join(", ");
    $("f-opens").value = local(new Date(c.qualifier.opens)); $("f-closes").value = local(new Date(c.qualifier.closes));
    $("f-questions").value = c.qualifier.questions; $("f-minutes").value = c.qualifier.minutes; $("f-attempts").value = c.qualifier.attempts;
    $("f-units").value = (c.qualifier.units || []).join(", ");
    $("f-first").value = local(new Date(c.rounds[0]));
    if (c.rounds.length > 1) $("f-gap").value = Math.round((new Date(c.rounds[1]) - new Date(c.rounds[0])) / 60000);
    $("f-checkin").value = c.check_in_seconds; $("f-grace").value = c.grace_seconds;
    $("f-mq").value = c.match_questions || 5; $("f-ms").value = c.match_seconds || 20;
    $("f-team").value = c.teams ? c.teams.mode : "";
    if (c.teams) $("f-team-size").value = c.teams.min + "-" + c.teams.max;
    $("form-title").textContent = I.t("edit_title", { id: v.id });
    $("f-submit").textContent = I.t("update");
    $("f-new").hidden = false;
    hint();
  }
  function blank() {
    editing = "";
    $("f-id").disabled = false; $("f-id").value = "";
    $("form-title").textContent = I.t("create_title");
    $("f-submit").textContent = I.t("create");
    $("f-new").hidden = true;
  }

  async function load() {
    if (!token) return;
    try {
      const ts = await api("GET", "/api/v1/tournaments");
      const tb = $("t-list");
      tb.textContent = "";
      ts.forEach((t) => {
        const tr = document.createElement("tr");
        tr.dataset.id = t.id;
        [t.title, t.id, t.format + (t.teams ? " · team" : "")].forEach((x) => { const td = document.createElement("td"); td.textContent = x; tr.append(td); });
        const td = document.createElement("td");
        const w = document.createElement("button");
        w.className = "small watch-btn"; w.type = "button"; w.textContent = I.t("watch");
        w.onclick = () => watch(t.id, t.title);
        const e = document.createElement("button");
        e.className = "small edit-btn"; e.type = "button"; e.textContent = I.t("edit");
        e.onclick = async () => { try { fill(await api("GET", "/api/v1/tournaments/" + encodeURIComponent(t.id) + "/bracket")); } catch (err) { say("t-list-msg", err.message, true); } };
        td.append(w, e);
        tr.append(td);
        tb.append(tr);
      });
      say("t-list-msg", "");
    } catch (e) {
      say("t-list-msg", e.message || e.code, true);
    }
  }

  function watch(id, title) {
    watching = id;
    $("watch").hidden = false;
    $("watch-title").textContent = title;
    const links = $("watch-links");
    links.textContent = "";
    [["bracket_link", "/bracket?id="], ["player_link", "/tournament?id="]].forEach(([k, p]) => {
      const a = document.createElement("a");
      a.href = p + encodeURIComponent(id); a.target = "_blank"; a.textContent = I.t(k);
      links.append(a);
    });
    checkFinal();
  }
  async function checkFinal() {
    if (!watching) return;
    try {
      const v = await (await fetch("/api/v1/tournaments/" + encodeURIComponent(watching) + "/view", { cache: "no-store" })).json();
      renderWatch(v);
      const on = !!(v.final && !(v.standings || []).length);
      $("final-host").hidden = !on; $("final-screen").hidden = !on;
      $("final-host").dataset.event = $("final-screen").dataset.event = on ? v.final.event : "";
    } catch (e) { /* the next poll tries again */ }
  }
  // renderWatch lists each fired round's matches as they stand.
  function renderWatch(v) {
    const name = (p) => (v.names && v.names[p]) || p;
    const fired = v.rounds.filter((r) => r.state !== "scheduled");
    $("watch-summary").textContent = I.t("summary", { q: v.qualified || 0, e: (v.entrants || []).length, r: fired.length, n: v.rounds.length }) +
      ((v.standings || []).length ? " · " + I.t("champion", { who: v.standings[0].name || v.standings[0].player }) : "");
    const box = $("watch-body");
    box.textContent = "";
    fired.forEach((r) => {
      const rd = document.createElement("div");
      rd.className = "rd";
      rd.dataset.round = r.num;
      const h = document.createElement("h3");
      h.textContent = I.t("round_state", { n: r.num, s: r.state });
      rd.append(h);
      r.matches.forEach((m) => {
        const d = document.createElement("div");
        d.className = "m";
        d.dataset.state = m.state;
        const score = {};
        (m.results || []).forEach((x) => { score[x.player] = x.score; });
        m.seats.forEach((p, i) => {
          if (i) d.append(" · ");
          const s = document.createElement("span");
          s.textContent = p ? name(p) + (p in score ? " " + score[p] : "") : "—";
          if ((m.advance || []).includes(p)) s.className = "win";
          d.append(s);
        });
        d.append(" (" + m.state + (m.by ? ", " + m.by : "") + ")");
        rd.append(d);
      });
      box.append(rd);
    });
  }
  async function finalLink(role) {
    try {
      const r = await api("POST", "/api/v1/events/" + encodeURIComponent($("final-" + role).dataset.event) + "/links", { role: role });
      window.open(r.url, "_blank");
      say("final-msg", "");
    } catch (e) { say("final-msg", e.message || e.code, true); }
  }

  $("org-token").value = token;
  $("org-save").onclick = () => { token = $("org-token").value.trim(); localStorage.setItem(TOKEN_KEY, token); say("org-msg", I.t("saved")); load(); };
  $("t-refresh").onclick = load;
  $("f-submit").onclick = submit;
  $("f-new").onclick = blank;
  $("final-host").onclick = () => finalLink("host");
  $("final-screen").onclick = () => finalLink("screen");
  ["f-format", "f-field", "f-first", "f-gap"].forEach((k) => $(k).addEventListener("input", hint));
  $("lang").onclick = () => { I.set(I.lang === "zh" ? "en" : "zh"); $("lang").textContent = I.lang === "zh" ? "English" : "中文"; I.apply(); blankTitles(); load(); hint(); };
  function blankTitles() {
    $("form-title").textContent = editing ? I.t("edit_title", { id: editing }) : I.t("create_title");
    $("f-submit").textContent = I.t(editing ? "update" : "create");
  }
  // The organizer token may come in the fragment (#token=…), then leaves the address bar.
  const frag = new URLSearchParams(location.hash.replace(/^#/, ""));
  if (frag.get("token")) { token = frag.get("token"); localStorage.setItem(TOKEN_KEY, token); $("org-token").value = token; history.replaceState(null, "", location.pathname); }
  I.set(I.lang);
  $("lang").textContent = I.lang === "zh" ? "English" : "中文";
  I.apply();
  blankTitles();
  const now = new Date();
  $("f-opens").value = local(now);
  $("f-closes").value = local(new Date(now.getTime() + 2 * 86400000));
  $("f-first").value = local(new Date(now.getTime() + 2 * 86400000 + 3600000));
  hint();
  load();
  setInterval(checkFinal, 3000);
})();
