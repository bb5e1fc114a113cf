// Leitai organizer page: import question banks, create stage events, list
// events and download their results. It also exports LeitaiOrg (the HTTP
// helper, authenticated downloads and the create-event form), which the host
// console reuses when it is opened without a token. Plain browser JS.
"use strict";

(function (global) {
  const L = global.Leitai;
  const $ = (id) => document.getElementById(id);
  const TOKEN_KEY = "leitai.org_token";
  const XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
  const TYPES = { csv: "text/csv", json: "application/json", xlsx: XLSX };

  // FORM_DICT holds the strings of the create-event form and the HTTP errors;
  // the host console merges it into its own dictionary.
  const FORM_DICT = {
    zh: {
      org_token: "组织者令牌", ev_create_title: "创建活动", ev_title: "活动标题", ev_title_ph: "例如：市直机关知识竞赛",
      ev_set: "题库", ev_whole_bank: "全部题库（按条件抽题）", ev_category: "分类", ev_category_ph: "留空为不限",
      ev_difficulty: "难度", diff_any: "不限", diff_1: "简单", diff_2: "中等", diff_3: "困难",
      ev_lang: "语言", lang_any: "不限", lang_zh: "中文", lang_en: "英文",
      ev_count: "题目数量", ev_limit: "每题限时（秒）", ev_scoring: "计分规则",
      scoring_speed: "速度分（答得越快分越高）", scoring_race: "抢答（最快 20 分，其余 10 分）", scoring_accuracy: "正确率（每题 1 分）",
      ev_streak: "连对奖励", ev_team_mode: "团队模式", team_none: "无团队", team_mean: "团队平均分", team_sum: "团队总分",
      ev_teams: "团队名称（逗号分隔）", ev_teams_ph: "红队, 蓝队", ev_auto: "自动推进", ev_reveal: "揭晓停留（秒）",
      ev_late: "允许中途加入", ev_create: "创建活动", ev_created: "活动已创建", ev_pin: "PIN 码",
      ev_host_link: "主持控制台", ev_screen_link: "大屏幕", ev_join_link: "参赛链接",
      need_token: "请先填写组织者令牌", need_title: "请填写活动标题", need_teams: "团队模式需要至少两个团队名称",
      bad_number: "题目数量和限时必须是正数", working: "处理中…",
      err_unauthenticated: "令牌无效或已过期", err_forbidden: "无权执行此操作", err_not_found: "未找到",
      err_bad_request: "请求有误", err_wrong_phase: "当前阶段不能执行此操作", err_unavailable: "服务器暂时不可用",
      err_rate_limited: "操作太频繁", err_room_full: "房间已满", err_internal: "服务器内部错误"
    },
    en: {
      org_token: "Organizer token", ev_create_title: "Create event", ev_title: "Event title", ev_title_ph: "e.g. City quiz final",
      ev_set: "Question set", ev_whole_bank: "Whole bank (draw by filters)", ev_category: "Category", ev_category_ph: "empty = any",
      ev_difficulty: "Difficulty", diff_any: "Any", diff_1: "Easy", diff_2: "Medium", diff_3: "Hard",
      ev_lang: "Language", lang_any: "Any", lang_zh: "Chinese", lang_en: "English",
      ev_count: "Questions", ev_limit: "Time limit (s)", ev_scoring: "Scoring",
      scoring_speed: "Speed (faster earns more)", scoring_race: "Race (fastest 20, others 10)", scoring_accuracy: "Accuracy (1 per correct)",
      ev_streak: "Streak bonus", ev_team_mode: "Team mode", team_none: "No teams", team_mean: "Team mean", team_sum: "Team sum",
      ev_teams: "Team names (comma-separated)", ev_teams_ph: "Red, Blue", ev_auto: "Auto-advance", ev_reveal: "Reveal time (s)",
      ev_late: "Allow late join", ev_create: "Create event", ev_created: "Event created", ev_pin: "PIN",
      ev_host_link: "Host console", ev_screen_link: "Screen", ev_join_link: "Join link",
      need_token: "Enter the organizer token first", need_title: "Enter a title", need_teams: "Team mode needs at least two team names",
      bad_number: "Count and time limit must be positive", working: "Working…",
      err_unauthenticated: "Invalid or expired token", err_forbidden: "Not allowed", err_not_found: "Not found",
      err_bad_request: "Bad request", err_wrong_phase: "Not allowed in this phase", err_unavailable: "Server unavailable",
      err_rate_limited: "Too many requests", err_room_full: "Room is full", err_internal: "Internal server error"
    }
  };

  // api calls the HTTP API. It resolves with the parsed JSON body and rejects
  // with {status, code, message, body}.
  async function api(method, path, token, body, type) {
    const headers = {};
    if (token) headers.Authorization = "Bearer " + token;
    if (body != null && !type) { type = "application/json"; body = JSON.stringify(body); }
    if (type) headers["Content-Type"] = type;
    let res;
    try {
      res = await fetch(path, { method: method, headers: headers, body: body == null ? undefined : body });
    } catch (e) {
      throw { status: 0, code: "unavailable", message: String(e) };
    }
    const text = await res.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    if (res.ok) return data;
    const err = (data && data.error) || {};
    throw { status: res.status, code: err.code || "http_" + res.status, message: err.message || text || res.statusText, body: data };
  }

  // download fetches an authenticated file and saves it through a Blob URL.
  async function download(path, token, fallbackName) {
    let res;
    try { res = await fetch(path, { headers: { Authorization: "Bearer " + token } }); } catch (e) {
      throw { status: 0, code: "unavailable", message: String(e) };
    }
    if (!res.ok) {
      let err = {};
      try { err = (await res.json()).error || {}; } catch (e) { /* not JSON */ }
      throw { status: res.status, code: err.code || "http_" + res.status, message: err.message || res.statusText };
    }
    const blob = await res.blob();
    let name = fallbackName;
    const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(res.headers.get("Content-Disposition") || "");
    if (m) { try { name = decodeURIComponent(m[1]); } catch (e) { name = m[1]; } }
    const url = URL.createObjectURL(blob);
    const a = document.createElement("a");
    a.href = url;
    a.download = name;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 30000);
  }

  // errText turns an API error into a line for the user.
  function errText(i18n, e) {
    if (i18n.hasServerText(e)) return i18n.serverText(e);
    const key = "err_" + (e && e.code);
    const known = i18n.t(key) !== key ? i18n.t(key) : "";
    const msg = (e && e.message) || "";
    return known && msg ? known + "：" + msg : known || msg || String(e);
  }

  // safeUrl keeps only http(s) and same-site links from server data.
  function safeUrl(u) {
    u = String(u || "");
    return /^(https?:\/\/|\/)/i.test(u) ? u : "#";
  }

  function fmtTime(v, lang) {
    if (!v || /^0001-/.test(String(v))) return "";
    const d = new Date(typeof v === "number" ? v : String(v));
    return isNaN(d) ? String(v) : d.toLocaleString(lang === "zh" ? "zh-CN" : "en-GB", { hour12: false });
  }

  function splitTeams(s) {
    return String(s || "").split(/[,，、;；\n]/).map((x) => x.trim()).filter(Boolean);
  }

  const FORM_HTML = `
    <div class="grid2">
      <label class="wide"><span data-i18n="ev_title"></span><input id="ev-title" data-i18n-placeholder="ev_title_ph" maxlength="120"></label>
      <label class="wide"><span data-i18n="ev_set"></span><select id="ev-set"></select></label>
      <label class="bank"><span data-i18n="ev_category"></span><input id="ev-category" list="ev-categories" data-i18n-placeholder="ev_category_ph"></label>
      <datalist id="ev-categories"><option value="history"></option><option value="geography"></option>
        <option value="civics"></option><option value="science"></option><option value="literature"></option></datalist>
      <label class="bank"><span data-i18n="ev_difficulty"></span><select id="ev-difficulty">
        <option value="0" data-i18n="diff_any"></option><option value="1" data-i18n="diff_1"></option>
        <option value="2" data-i18n="diff_2"></option><option value="3" data-i18n="diff_3"></option></select></label>
      <label class="bank"><span data-i18n="ev_lang"></span><select id="ev-lang">
        <option value="" data-i18n="lang_any"></option><option value="zh" data-i18n="lang_zh"></option>
        <option value="en" data-i18n="lang_en"></option></select></label>
      <label><span data-i18n="ev_count"></span><input id="ev-count" type="number" min="1" max="200" value="10"></label>
      <label><span data-i18n="ev_limit"></span><input id="ev-limit" type="number" min="3" max="600" value="20"></label>
      <label><span data-i18n="ev_scoring"></span><select id="ev-scoring">
        <option value="speed" data-i18n="scoring_speed"></option><option value="race" data-i18n="scoring_race"></option>
        <option value="accuracy" data-i18n="scoring_accuracy"></option></select></label>
      <label><span data-i18n="ev_team_mode"></span><select id="ev-team-mode">
        <option value="" data-i18n="team_none"></option><option value="mean" data-i18n="team_mean"></option>
        <option value="sum" data-i18n="team_sum"></option></select></label>
      <label class="wide teams"><span data-i18n="ev_teams"></span><input id="ev-teams" data-i18n-placeholder="ev_teams_ph"></label>
      <label class="check"><input id="ev-streak" type="checkbox" checked><span data-i18n="ev_streak"></span></label>
      <label class="check"><input id="ev-late" type="checkbox" checked><span data-i18n="ev_late"></span></label>
      <label class="check"><input id="ev-auto" type="checkbox"><span data-i18n="ev_auto"></span></label>
      <label class="reveal"><span data-i18n="ev_reveal"></span><input id="ev-reveal" type="number" min="1" max="120" value="5"></label>
    </div>
    <div class="actions"><button id="ev-create" class="primary" type="button" data-i18n="ev_create"></button>
      <span id="ev-msg" class="msg"></span></div>
    <div id="ev-result" class="result" hidden>
      <div><span data-i18n="ev_created"></span> · <span data-i18n="ev_pin"></span> <b id="ev-pin" class="pin"></b></div>
      <ul><li><a id="ev-host-link" target="_blank" rel="noopener" data-i18n="ev_host_link"></a> <code id="ev-host-url"></code></li>
        <li><a id="ev-screen-link" target="_blank" rel="noopener" data-i18n="ev_screen_link"></a> <code id="ev-screen-url"></code></li>
        <li><a id="ev-join-link" target="_blank" rel="noopener" data-i18n="ev_join_link"></a> <code id="ev-join-url"></code></li></ul>
    </div>`;

  // EventForm mounts the create-event form into box.
  //   opts.i18n, opts.getToken(), opts.onCreated(result)
  function EventForm(box, opts) {
    this.box = box;
    this.opts = opts;
    this.sets = [];
    box.innerHTML = FORM_HTML;
    opts.i18n.apply(box);
    const sync = () => this.sync();
    ["ev-set", "ev-team-mode", "ev-auto"].forEach((id) => $(id).addEventListener("change", sync));
    $("ev-create").addEventListener("click", () => this.create());
    // The questions' language defaults to the page's; once the organizer
    // picks one, it stays.
    this.langTouched = false;
    $("ev-lang").addEventListener("change", () => { this.langTouched = true; });
    this.followLang();
    this.renderSets();
    this.sync();
  }
  EventForm.prototype.followLang = function () {
    if (!this.langTouched) $("ev-lang").value = this.opts.i18n.lang === "en" ? "en" : "zh";
  };
  EventForm.prototype.sync = function () {
    const whole = !$("ev-set").value;
    this.box.querySelectorAll(".bank").forEach((el) => { el.hidden = !whole; });
    this.box.querySelector(".teams").hidden = !$("ev-team-mode").value;
    this.box.querySelector(".reveal").hidden = !$("ev-auto").checked;
  };
  EventForm.prototype.renderSets = function () {
    const sel = $("ev-set");
    const cur = sel.value;
    sel.textContent = "";
    const whole = document.createElement("option");
    whole.value = "";
    whole.textContent = this.opts.i18n.t("ev_whole_bank");
    sel.appendChild(whole);
    this.sets.forEach((s) => {
      const o = document.createElement("option");
      o.value = s.id;
      o.textContent = s.name + " (" + s.count + ")";
      sel.appendChild(o);
    });
    sel.value = this.sets.some((s) => s.id === cur) ? cur : "";
    this.sync();
  };
  EventForm.prototype.setSets = function (sets) {
    this.sets = Array.isArray(sets) ? sets : [];
    this.renderSets();
  };
  EventForm.prototype.loadSets = function () {
    const token = this.opts.getToken();
    if (!token) return Promise.resolve();
    return api("GET", "/api/v1/questionsets", token).then((r) => this.setSets(r && (r.items || r.questionsets || r)), () => {});
  };
  EventForm.prototype.msg = function (text, bad) {
    const m = $("ev-msg");
    m.textContent = text || "";
    m.className = "msg" + (bad ? " bad" : "");
  };
  EventForm.prototype.create = async function () {
    const t = (k) => this.opts.i18n.t(k);
    const token = this.opts.getToken();
    if (!token) return this.msg(t("need_token"), true);
    const title = $("ev-title").value.trim();
    if (!title) return this.msg(t("need_title"), true);
    const count = parseInt($("ev-count").value, 10);
    const limit = parseFloat($("ev-limit").value);
    if (!(count > 0) || !(limit > 0)) return this.msg(t("bad_number"), true);
    const body = {
      title: title, count: count, time_limit_ms: Math.round(limit * 1000), scoring: $("ev-scoring").value,
      streak_bonus: $("ev-streak").checked, team_mode: $("ev-team-mode").value, teams: [],
      auto_advance: $("ev-auto").checked, late_join: $("ev-late").checked
    };
    if ($("ev-set").value) body.questionset = $("ev-set").value;
    else {
      body.category = $("ev-category").value.trim();
      body.difficulty = parseInt($("ev-difficulty").value, 10) || 0;
      body.lang = $("ev-lang").value;
    }
    if (body.team_mode) {
      body.teams = splitTeams($("ev-teams").value);
      if (body.teams.length < 2) return this.msg(t("need_teams"), true);
    }
    if (body.auto_advance) body.reveal_ms = Math.round((parseFloat($("ev-reveal").value) || 5) * 1000);
    const btn = $("ev-create");
    btn.disabled = true;
    this.msg(t("working"));
    try {
      const r = await api("POST", "/api/v1/events", token, body);
      this.msg("");
      this.showResult(r);
      if (this.opts.onCreated) this.opts.onCreated(r);
    } catch (e) {
      this.msg(errText(this.opts.i18n, e), true);
    } finally {
      btn.disabled = false;
    }
  };
  EventForm.prototype.showResult = function (r) {
    $("ev-result").hidden = false;
    $("ev-pin").textContent = r.pin || "";
    [["host", r.host_url], ["screen", r.screen_url], ["join", r.join_url]].forEach((p) => {
      $("ev-" + p[0] + "-link").href = safeUrl(p[1]);
      $("ev-" + p[0] + "-url").textContent = p[1] || "";
    });
  };

  global.LeitaiOrg = {
    dict: FORM_DICT, api: api, download: download, errText: errText, fmtTime: fmtTime,
    safeUrl: safeUrl, EventForm: EventForm, TOKEN_KEY: TOKEN_KEY
  };

  // ---- The organizer page itself ----
  if (document.body.getAttribute("data-page") !== "admin") return;

  const DICT = {
    zh: Object.assign({}, FORM_DICT.zh, {
      page_title: "擂台 · 组织者", save: "保存", token_saved: "令牌已保存", refresh: "刷新",
      import_title: "导入题库", import_hint: "支持 CSV、JSON、XLSX 文件。有任何错误行时不会导入。", import_btn: "导入",
      pick_file: "请选择文件", bad_ext: "只支持 .csv、.json、.xlsx 文件", imported: "已导入 {n} 道题（题库 {name}）",
      import_failed: "导入失败，共 {n} 处错误：", col_row: "行", col_field: "字段", col_message: "问题",
      sets_title: "题库列表", col_name: "名称", col_count: "题数", col_created: "创建时间", col_id: "编号",
      events_title: "活动列表", col_title: "标题", col_pin: "PIN", col_status: "状态", col_results: "结果下载",
      live: "进行中", ended: "已结束于 {t}", empty: "暂无", download_failed: "下载失败",
      col_links: "链接", new_host_link: "新主持链接", new_screen_link: "新大屏链接",
      reissue_confirm: "生成新的{role}链接？旧链接将立即失效。", reissued: "新的{role}链接（旧链接已失效）：",
      role_host: "主持控制台", role_screen: "大屏幕", reissue_failed: "生成链接失败", orgs_link: "学习组织与积分"
    }),
    en: Object.assign({}, FORM_DICT.en, {
      page_title: "Leitai · Organizer", save: "Save", token_saved: "Token saved", refresh: "Refresh",
      import_title: "Import question bank", import_hint: "CSV, JSON or XLSX. Nothing is imported if any row is bad.", import_btn: "Import",
      pick_file: "Choose a file", bad_ext: "Only .csv, .json and .xlsx files", imported: "Imported {n} questions (set {name})",
      import_failed: "Import failed with {n} errors:", col_row: "Row", col_field: "Field", col_message: "Problem",
      sets_title: "Question sets", col_name: "Name", col_count: "Questions", col_created: "Created", col_id: "ID",
      events_title: "Events", col_title: "Title", col_pin: "PIN", col_status: "Status", col_results: "Results",
      live: "Live", ended: "Ended {t}", empty: "None yet", download_failed: "Download failed",
      col_links: "Links", new_host_link: "New host link", new_screen_link: "New screen link",
      reissue_confirm: "Make a new {role} link? The old one stops working at once.", reissued: "New {role} link (the old one no longer works): ",
      role_host: "host console", role_screen: "screen", reissue_failed: "Could not make a new link", orgs_link: "Organizations and points"
    })
  };
  const i18n = new L.I18n(DICT);
  const t = (k, v) => i18n.t(k, v);
  let sets = [];
  let events = [];

  const urlToken = new URLSearchParams(location.search).get("token");
  if (urlToken) localStorage.setItem(TOKEN_KEY, urlToken);
  $("org-token").value = urlToken || localStorage.getItem(TOKEN_KEY) || "";
  const token = () => $("org-token").value.trim();

  const form = new EventForm($("ev-form"), { i18n: i18n, getToken: token, onCreated: () => loadEvents() });

  function status(id, text, bad) {
    const el = $(id);
    el.textContent = text || "";
    el.className = "msg" + (bad ? " bad" : "");
  }

  function cell(tr, text, cls) {
    const td = document.createElement("td");
    td.textContent = text == null ? "" : String(text);
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }

  function emptyRow(tbody, cols) {
    const tr = document.createElement("tr");
    const td = cell(tr, t("empty"), "muted");
    td.colSpan = cols;
    tbody.appendChild(tr);
  }

  function renderSets() {
    const tb = $("qs-list");
    tb.textContent = "";
    if (!sets.length) emptyRow(tb, 4);
    sets.forEach((s) => {
      const tr = document.createElement("tr");
      cell(tr, s.name);
      cell(tr, s.count, "num");
      cell(tr, fmtTime(s.created_at, i18n.lang));
      cell(tr, s.id, "mono");
      tb.appendChild(tr);
    });
  }

  function renderEvents() {
    const tb = $("ev-list");
    tb.textContent = "";
    if (!events.length) emptyRow(tb, 6);
    events.forEach((ev) => {
      const tr = document.createElement("tr");
      tr.dataset.event = ev.id;
      cell(tr, ev.title);
      cell(tr, ev.pin, "mono");
      const ended = fmtTime(ev.ended_at, i18n.lang);
      cell(tr, ended ? t("ended", { t: ended }) : t("live"), ended ? "muted" : "live");
      cell(tr, fmtTime(ev.created_at, i18n.lang));
      const td = cell(tr, "");
      ["csv", "xlsx", "json"].forEach((f) => {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "small dl";
        b.dataset.format = f;
        b.textContent = f.toUpperCase();
        b.addEventListener("click", () => {
          const path = "/api/v1/events/" + encodeURIComponent(ev.id) + "/results?format=" + f;
          download(path, token(), "leitai-" + (ev.pin || ev.id) + "-results." + f)
            .catch((e) => status("ev-list-msg", t("download_failed") + "：" + errText(i18n, e), true));
        });
        td.appendChild(b);
      });
      const links = cell(tr, "");
      ["host", "screen"].forEach((role) => {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "small reissue";
        b.dataset.role = role;
        b.textContent = t("new_" + role + "_link");
        b.addEventListener("click", () => reissue(ev, role));
        links.appendChild(b);
      });
      tb.appendChild(tr);
    });
  }

  // reissue replaces an event's host or screen link and shows the new one:
  // the server keeps only hashes, so a lost link can be replaced, not shown.
  async function reissue(ev, role) {
    const name = t("role_" + role);
    if (!global.confirm(t("reissue_confirm", { role: name }))) return;
    try {
      const r = await api("POST", "/api/v1/events/" + encodeURIComponent(ev.id) + "/links", token(), { role: role });
      const box = $("ev-list-msg");
      box.className = "msg";
      box.textContent = (ev.title ? ev.title + " · " : "") + t("reissued", { role: name });
      const a = document.createElement("a");
      a.id = "ev-reissued-url";
      a.href = safeUrl(r.url);
      a.target = "_blank";
      a.rel = "noopener";
      a.textContent = r.url;
      box.appendChild(a);
    } catch (e) {
      status("ev-list-msg", t("reissue_failed") + "：" + errText(i18n, e), true);
    }
  }

  async function loadSets() {
    if (!token()) return status("qs-list-msg", t("need_token"), true);
    try {
      const r = await api("GET", "/api/v1/questionsets", token());
      sets = Array.isArray(r) ? r : (r && (r.items || r.questionsets)) || [];
      status("qs-list-msg", "");
      renderSets();
      form.setSets(sets);
    } catch (e) { status("qs-list-msg", errText(i18n, e), true); }
  }

  async function loadEvents() {
    if (!token()) return status("ev-list-msg", t("need_token"), true);
    try {
      const r = await api("GET", "/api/v1/events", token());
      events = Array.isArray(r) ? r : (r && (r.items || r.events)) || [];
      const when = (v) => (typeof v === "number" ? v : Date.parse(v) || 0);
      events.sort((a, b) => when(b.created_at) - when(a.created_at));
      status("ev-list-msg", "");
      renderEvents();
    } catch (e) { status("ev-list-msg", errText(i18n, e), true); }
  }

  function renderImportErrors(errors) {
    const tb = $("qs-errors");
    tb.textContent = "";
    errors.forEach((er) => {
      const tr = document.createElement("tr");
      cell(tr, er.row, "num");
      cell(tr, er.field, "mono");
      cell(tr, i18n.serverText(er));
      tb.appendChild(tr);
    });
    $("qs-errors-box").hidden = !errors.length;
  }

  async function importFile() {
    renderImportErrors([]);
    if (!token()) return status("qs-result", t("need_token"), true);
    const file = $("qs-file").files[0];
    if (!file) return status("qs-result", t("pick_file"), true);
    const ext = (file.name.split(".").pop() || "").toLowerCase();
    if (!TYPES[ext]) return status("qs-result", t("bad_ext"), true);
    $("qs-import").disabled = true;
    status("qs-result", t("working"));
    try {
      const r = await api("POST", "/api/v1/questionsets?name=" + encodeURIComponent(file.name), token(), file, TYPES[ext]);
      status("qs-result", t("imported", { n: r.imported, name: r.name || file.name }));
      $("qs-file").value = "";
      loadSets();
    } catch (e) {
      const errs = (e.body && e.body.errors) || [];
      if (e.status === 422 && errs.length) {
        status("qs-result", t("import_failed", { n: errs.length }), true);
        renderImportErrors(errs);
      } else status("qs-result", errText(i18n, e), true);
    } finally {
      $("qs-import").disabled = false;
    }
  }

  function applyLang() {
    i18n.set(i18n.lang);
    i18n.apply();
    document.title = t("page_title");
    $("lang").textContent = i18n.lang === "zh" ? "English" : "中文";
    form.renderSets();
    form.followLang();
    renderSets();
    renderEvents();
  }

  $("lang").addEventListener("click", () => { i18n.lang = i18n.lang === "zh" ? "en" : "zh"; applyLang(); });
  $("org-save").addEventListener("click", () => {
    localStorage.setItem(TOKEN_KEY, token());
    status("org-msg", t("token_saved"));
    loadSets();
    loadEvents();
  });
  $("org-token").addEventListener("keydown", (e) => { if (e.key === "Enter") $("org-save").click(); });
  $("qs-import").addEventListener("click", importFile);
  $("qs-refresh").addEventListener("click", loadSets);
  $("ev-refresh").addEventListener("click", loadEvents);

  applyLang();
  if (token()) { loadSets(); loadEvents(); }
})(window);
