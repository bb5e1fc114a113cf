// Leitai organization admin page (/org?token=…): the units of the token's
// subtree with registration and participation rates and points per member,
// the members of a unit, and the weekly ranking with its XLSX download.
// Works with an organization admin token or the organizer token. Plain
// browser JS.
"use strict";

(function () {
  const L = window.Leitai;
  const $ = (id) => document.getElementById(id);
  const KEY = "leitai.orgpage_token";
  const I = new L.I18n({
    zh: {
      page_title: "擂台 · 学习组织", token: "组织管理员令牌", open: "打开", refresh: "刷新",
      p_day: "今日", p_week: "本周", p_month: "本月", p_all: "累计",
      units_title: "单位参学情况", scope_all: "全部组织", scope_of: "范围：{name}",
      c_unit: "单位", c_expected: "应参学", c_registered: "已注册", c_reg_rate: "注册率", c_active: "参学人数",
      c_part_rate: "参学率", c_points: "积分", c_per_member: "人均积分", c_name: "姓名", c_number: "编号",
      c_status: "状态", c_week_points: "本期积分", c_rank: "参学率排名", c_change: "较上周", c_pm_rank: "人均排名",
      c_top: "学习之星", members: "成员", members_of: "{name} 的成员", registered: "已注册", pending: "未注册",
      weekly_title: "每周通报", week_of: "{week} 起的一周", target: "参学率目标 {pct}，红色为未达标单位",
      download: "下载 XLSX", open_board: "打开排行榜大屏", none: "暂无数据",
      err_unauthenticated: "令牌无效或已失效", err_forbidden: "无权访问", err_not_found: "未找到", err: "出错了：{msg}",
      manage_title: "组织与名册", manage_hint: "导入组织树（列：code、name、parent、expected）或成员名册（列：name、number、unit），CSV 或 XLSX。有任何错误行则整份文件都不导入。",
      tree_file: "组织树文件", import_tree: "导入组织树", roster_file: "名册文件", import_roster: "导入名册",
      c_row: "行", c_column: "列", c_problem: "问题", c_invite: "邀请链接", c_parent: "上级", edit: "编辑", save: "保存", cancel: "取消",
      no_file: "请先选择文件", imported_units: "已导入 {n} 个组织", imported_members: "已导入 {n} 名成员，把邀请链接发给各人",
      import_refused: "文件有 {n} 处错误，未导入任何内容", invites_hint: "每个邀请链接只能用一次；离开本页后不再显示。",
      saved: "已保存 {code}", root_parent: "（无上级）"
    },
    en: {
      page_title: "Leitai · Organization", token: "Organization admin token", open: "Open", refresh: "Refresh",
      p_day: "Today", p_week: "This week", p_month: "This month", p_all: "All time",
      units_title: "Units", scope_all: "Whole organization", scope_of: "Scope: {name}",
      c_unit: "Unit", c_expected: "Expected", c_registered: "Registered", c_reg_rate: "Registration", c_active: "Active",
      c_part_rate: "Participation", c_points: "Points", c_per_member: "Per member", c_name: "Name", c_number: "Number",
      c_status: "Status", c_week_points: "Points", c_rank: "Participation rank", c_change: "vs last week", c_pm_rank: "Per-member rank",
      c_top: "Top learners", members: "Members", members_of: "Members of {name}", registered: "Registered", pending: "Not registered",
      weekly_title: "Weekly ranking", week_of: "week of {week}", target: "Participation target {pct}; units in red are below it",
      download: "Download XLSX", open_board: "Open the leaderboard screen", none: "No data yet",
      err_unauthenticated: "Invalid or expired token", err_forbidden: "Not allowed", err_not_found: "Not found", err: "Error: {msg}",
      manage_title: "Tree and roster", manage_hint: "Import the organization tree (columns code, name, parent, expected) or a roster of members (name, number, unit) as CSV or XLSX. A file with any bad row imports nothing.",
      tree_file: "Tree file", import_tree: "Import tree", roster_file: "Roster file", import_roster: "Import roster",
      c_row: "Row", c_column: "Column", c_problem: "Problem", c_invite: "Invitation link", c_parent: "Parent", edit: "Edit", save: "Save", cancel: "Cancel",
      no_file: "Choose a file first", imported_units: "Imported {n} units", imported_members: "Imported {n} members: send each their invitation link",
      import_refused: "The file has {n} problems; nothing was imported", invites_hint: "Each invitation link works once and is not shown again after you leave this page.",
      saved: "Saved {code}", root_parent: "(no parent)"
    }
  });

  // The token comes in the link; it is kept for this tab only and taken out
  // of the address bar so it is not left on the screen or in the history.
  function takeToken() {
    const q = new URLSearchParams(location.search);
    const t = q.get("token");
    if (t) {
      sessionStorage.setItem(KEY, t);
      q.delete("token");
      history.replaceState(null, "", location.pathname + (q.toString() ? "?" + q : ""));
    }
    return sessionStorage.getItem(KEY) || localStorage.getItem("leitai.org_token") || "";
  }
  let token = takeToken();
  let selected = "";
  let root = "";

  async function api(path) {
    let res;
    try { res = await fetch(path, { headers: { Authorization: "Bearer " + token } }); } catch (e) {
      throw { code: "unavailable", message: String(e) };
    }
    const data = await res.json().catch(() => null);
    if (res.ok) return data;
    const err = (data && data.error) || {};
    throw { status: res.status, code: err.code || "http_" + res.status, message: err.message || res.statusText };
  }

  function fail(e) {
    const key = "err_" + (e && e.code);
    const text = I.t(key) !== key ? I.t(key) : I.t("err", { msg: (e && e.message) || e });
    $("msg").textContent = text;
    $("msg").className = "msg bad";
    if (e && (e.code === "unauthenticated" || e.code === "forbidden")) $("token-card").hidden = false;
  }

  const pct = (x) => (Math.round((x || 0) * 1000) / 10) + "%";
  const num = (x) => (Math.round((x || 0) * 10) / 10).toLocaleString();
  function rateCell(x, cls) {
    const w = Math.max(0, Math.min(1, x || 0)) * 100;
    return '<td class="num ' + (cls || "") + '"><span class="rate"><i><b data-w="' + w.toFixed(1) + '"></b></i>' + pct(x) + "</span></td>";
  }

  // Bars get their widths through the DOM, not markup (no inline styles).
  function bars(el) { el.querySelectorAll("b[data-w]").forEach((b) => { b.style.width = b.dataset.w + "%"; }); }

  let units = [];
  async function loadUnits() {
    const period = $("period").value;
    const r = await api("/api/v1/orgs?period=" + period);
    units = r.orgs || [];
    const by = {};
    units.forEach((u) => { by[u.code] = u; });
    const depth = (u) => { let d = 0; while (u && by[u.parent]) { d++; u = by[u.parent]; } return d; };
    const tops = units.filter((u) => !by[u.parent]);
    root = tops.length === 1 ? tops[0].code : "";
    $("scope").textContent = tops.length === 1 ? I.t("scope_of", { name: tops[0].name }) : I.t("scope_all");
    // Depth-first order keeps each unit under its parent.
    const kids = {};
    units.forEach((u) => { const p = by[u.parent] ? u.parent : ""; (kids[p] = kids[p] || []).push(u); });
    const rows = [];
    (function walk(p) { (kids[p] || []).forEach((u) => { rows.push(u); walk(u.code); }); })("");
    $("units-body").innerHTML = rows.length ? rows.map((u) =>
      '<tr data-unit="' + L.esc(u.code) + '"' + (u.code === selected ? ' class="sel"' : "") + ">" +
      '<td class="depth' + Math.min(depth(u), 3) + '">' + L.esc(u.name) + ' <span class="muted">' + L.esc(u.code) + "</span></td>" +
      '<td class="num">' + u.expected + '</td><td class="num">' + u.registered + "</td>" + rateCell(u.registration_rate, "reg") +
      '<td class="num">' + u.active + "</td>" + rateCell(u.participation_rate, "part") +
      '<td class="num pts">' + u.points + '</td><td class="num ppm">' + num(u.points_per_member) + "</td>" +
      '<td><button class="small show-members" type="button" data-unit="' + L.esc(u.code) + '">' + I.t("members") + "</button> " +
      '<button class="small edit-unit" type="button" data-unit="' + L.esc(u.code) + '">' + I.t("edit") + "</button></td></tr>"
    ).join("") : '<tr><td colspan="9" class="muted">' + I.t("none") + "</td></tr>";
    bars($("units-body"));
  }

  async function loadMembers(code) {
    selected = code;
    const u = units.find((x) => x.code === code) || { name: code };
    const period = $("period").value;
    const [ms, board] = await Promise.all([
      api("/api/v1/orgs/" + encodeURIComponent(code) + "/members"),
      api("/api/v1/leaderboard/players?limit=200&period=" + period + "&org=" + encodeURIComponent(code))
    ]);
    const pts = {};
    (board.players || []).forEach((p) => { pts[p.player] = p.points; });
    $("members-title").textContent = I.t("members_of", { name: u.name });
    $("members-card").hidden = false;
    $("members-body").innerHTML = ms.length ? ms.map((m) =>
      '<tr data-member="' + L.esc(m.id) + '"><td>' + L.esc(m.name) + "</td><td>" + L.esc(m.number) + "</td><td>" +
      I.t(m.player ? "registered" : "pending") + '</td><td class="num">' + (m.player ? (pts[m.player] || 0) : "–") + "</td></tr>"
    ).join("") : '<tr><td colspan="4" class="muted">' + I.t("none") + "</td></tr>";
    document.querySelectorAll("#units-body tr").forEach((tr) => tr.classList.toggle("sel", tr.dataset.unit === code));
  }

  async function loadWeekly() {
    const code = root;
    $("weekly-xlsx").disabled = !code;
    $("board-open").disabled = !code;
    if (!code) { $("weekly-body").innerHTML = ""; return; }
    const w = await api("/api/v1/orgs/" + encodeURIComponent(code) + "/weekly");
    $("weekly-week").textContent = I.t("week_of", { week: w.week });
    $("weekly-target").textContent = I.t("target", { pct: pct(w.target) });
    const list = (w.units || []).slice().sort((a, b) => a.participation_rank - b.participation_rank);
    // With nothing earned last week every unit tied there: no change to show.
    const lastWeek = list.some((u) => u.last_participation_rate > 0 || u.last_points_per_member > 0);
    const change = (c) => !lastWeek ? "–" : c > 0 ? '<span class="up">▲' + c + "</span>" : c < 0 ? '<span class="down">▼' + (-c) + "</span>" : "–";
    $("weekly-body").innerHTML = list.length ? list.map((u) =>
      '<tr data-unit="' + L.esc(u.code) + '"' + (u.below_target ? ' class="below"' : "") + ">" +
      '<td class="num">' + u.participation_rank + "</td><td>" + L.esc(u.name) + "</td>" + rateCell(u.participation_rate, "part") +
      "<td>" + change(u.participation_rank_change) + '</td><td class="num">' + num(u.points_per_member) + '</td><td class="num">' + u.per_member_rank +
      "</td><td>" + (u.top || []).map((l) => L.esc(l.name) + " " + l.points).join("、") + "</td></tr>"
    ).join("") : '<tr><td colspan="7" class="muted">' + I.t("none") + "</td></tr>";
    bars($("weekly-body"));
  }

  async function downloadWeekly() {
    try {
      const res = await fetch("/api/v1/orgs/" + encodeURIComponent(root) + "/weekly?format=xlsx", { headers: { Authorization: "Bearer " + token } });
      if (!res.ok) throw { code: "http_" + res.status, message: res.statusText };
      const cd = res.headers.get("Content-Disposition") || "";
      const m = /filename="([^"]+)"/.exec(cd);
      const a = document.createElement("a");
      a.href = URL.createObjectURL(await res.blob());
      a.download = m ? m[1] : "leitai-weekly.xlsx";
      document.body.appendChild(a);
      a.click();
      setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
    } catch (e) { fail(e); }
  }

  function say(text, bad) {
    $("import-msg").textContent = text;
    $("import-msg").className = "msg" + (bad ? " bad" : " ok");
  }

  // importFile sends a tree or roster file as it is; the server reads CSV
  // or XLSX and refuses the whole file if any row is bad, listing each.
  async function importFile(kind) {
    const f = $(kind + "-file").files[0];
    $("import-errors-wrap").hidden = true;
    if (kind === "roster") $("invites-wrap").hidden = true;
    if (!f) { say(I.t("no_file"), true); return; }
    const format = /\.xlsx$/i.test(f.name) ? "xlsx" : "csv";
    const path = kind === "tree" ? "/api/v1/orgs/import" : "/api/v1/members/import";
    let res;
    try {
      res = await fetch(path + "?format=" + format, { method: "POST", headers: { Authorization: "Bearer " + token }, body: f });
    } catch (e) { say(I.t("err", { msg: String(e) }), true); return; }
    const data = await res.json().catch(() => null);
    if (res.status === 422 && data && data.errors) {
      say(I.t("import_refused", { n: data.errors.length }), true);
      const rows = data.errors.slice().sort((a, b) => a.row - b.row);
      $("import-errors-body").innerHTML = rows.map((e) =>
        '<tr data-row="' + e.row + '"><td class="num">' + e.row + "</td><td>" + L.esc(e.column || "") + "</td><td>" + L.esc(I.serverText ? I.serverText(e) : e.message) + "</td></tr>").join("");
      $("import-errors-wrap").hidden = false;
      return;
    }
    if (!res.ok) {
      const err = (data && data.error) || {};
      say(I.t("err", { msg: err.message || res.statusText }), true);
      return;
    }
    $(kind + "-file").value = "";
    if (kind === "tree") {
      say(I.t("imported_units", { n: data.imported }));
    } else {
      say(I.t("imported_members", { n: data.imported }));
      $("invites-body").innerHTML = (data.members || []).map((m) =>
        '<tr data-number="' + L.esc(m.number) + '"><td>' + L.esc(m.name) + "</td><td>" + L.esc(m.number) + "</td><td>" + L.esc(m.unit) +
        '</td><td class="mono invite">' + L.esc(location.origin + "/?invite=" + encodeURIComponent(m.invite)) + "</td></tr>").join("");
      $("invites-wrap").hidden = false;
    }
    await load();
  }

  // The edit form renames a unit, sets its expected count or moves it
  // under another parent (not under itself or its own subtree).
  function editUnit(code) {
    const u = units.find((x) => x.code === code);
    if (!u) return;
    const by = {};
    units.forEach((x) => { by[x.code] = x; });
    const inside = (x) => { for (let c = x; c; c = by[c] && by[c].parent) if (c === code) return true; return false; };
    const opts = units.filter((x) => !inside(x.code)).map((x) => '<option value="' + L.esc(x.code) + '">' + L.esc(x.name) + " (" + L.esc(x.code) + ")</option>");
    if (!by[u.parent] && u.parent === "") opts.unshift('<option value="">' + I.t("root_parent") + "</option>");
    else if (!by[u.parent]) opts.unshift('<option value="' + L.esc(u.parent) + '">' + L.esc(u.parent) + "</option>");
    $("edit-parent").innerHTML = opts.join("");
    $("edit-parent").value = u.parent;
    $("edit-code").textContent = u.code;
    $("edit-name").value = u.name;
    $("edit-expected").value = u.expected;
    $("edit-form").dataset.unit = u.code;
    $("edit-form").hidden = false;
    $("edit-name").focus();
  }

  async function saveUnit() {
    const code = $("edit-form").dataset.unit;
    const u = units.find((x) => x.code === code) || {};
    const body = { name: $("edit-name").value.trim(), expected: Number($("edit-expected").value) };
    if ($("edit-parent").value !== u.parent) body.parent = $("edit-parent").value;
    const res = await fetch("/api/v1/orgs/" + encodeURIComponent(code), {
      method: "PATCH", headers: { Authorization: "Bearer " + token, "Content-Type": "application/json" }, body: JSON.stringify(body) });
    const data = await res.json().catch(() => null);
    if (!res.ok) {
      const err = (data && data.error) || {};
      say(I.t("err", { msg: err.message || res.statusText }), true);
      return;
    }
    $("edit-form").hidden = true;
    say(I.t("saved", { code: code }));
    await load();
  }

  async function load() {
    if (!token) { $("token-card").hidden = false; return; }
    $("msg").textContent = "";
    try {
      await loadUnits();
      await loadWeekly();
      if (selected) await loadMembers(selected);
    } catch (e) { fail(e); }
  }

  function applyLang() {
    I.apply();
    $("lang").textContent = I.lang === "zh" ? "English" : "中文";
    document.title = I.t("page_title");
  }

  $("lang").addEventListener("click", () => { I.set(I.lang === "zh" ? "en" : "zh"); applyLang(); load(); });
  $("refresh").addEventListener("click", load);
  $("period").addEventListener("change", load);
  $("weekly-xlsx").addEventListener("click", downloadWeekly);
  // The leaderboard screen gets a read-only token of its own, in the link's
  // fragment, which browsers never send to a server.
  $("board-open").addEventListener("click", async () => {
    const win = window.open("about:blank", "_blank");
    try {
      const res = await fetch("/api/v1/orgs/" + encodeURIComponent(root) + "/board-token", { method: "POST", headers: { Authorization: "Bearer " + token } });
      const data = await res.json().catch(() => null);
      if (!res.ok) throw { code: ((data && data.error) || {}).code || "http_" + res.status, message: res.statusText };
      const url = "/board#token=" + encodeURIComponent(data.token) + "&title=" + encodeURIComponent(data.name) + "&period=" + $("period").value;
      $("board-url").textContent = location.origin + url;
      $("board-url").hidden = false;
      if (win) win.location = location.origin + url;
    } catch (e) { if (win) win.close(); fail(e); }
  });
  $("token-save").addEventListener("click", () => {
    token = $("token").value.trim();
    sessionStorage.setItem(KEY, token);
    $("token-card").hidden = true;
    applyLang();
    load();
  });
  $("units-body").addEventListener("click", (e) => {
    const b = e.target.closest(".show-members");
    if (b) loadMembers(b.dataset.unit).catch(fail);
    const ed = e.target.closest(".edit-unit");
    if (ed) editUnit(ed.dataset.unit);
  });
  $("tree-import").addEventListener("click", () => importFile("tree"));
  $("roster-import").addEventListener("click", () => importFile("roster"));
  $("edit-form").addEventListener("submit", (e) => { e.preventDefault(); saveUnit().catch(fail); });
  $("edit-cancel").addEventListener("click", () => { $("edit-form").hidden = true; });
  I.set(I.lang);
  applyLang();
  load();
})();
