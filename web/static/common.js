// Leitai client core shared by the player page, the host console, the screen
// and the organizer page: one WebSocket session with hello/resume, automatic
// reconnect with backoff, server clock offset from ping/pong, request ids,
// language switching and HTML escaping. No build step; plain browser JS.
"use strict";

(function (global) {
  // esc makes any text safe to put into innerHTML.
  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  // I18n holds per-page dictionaries {zh:{key:text}, en:{key:text}}.
  function I18n(dict) {
    this.dict = dict;
    this.lang = localStorage.getItem("leitai.lang") || "zh";
  }
  I18n.prototype.t = function (key, vars) {
    var s = (this.dict[this.lang] && this.dict[this.lang][key]) || (this.dict.zh && this.dict.zh[key]) || key;
    if (vars) {
      Object.keys(vars).forEach(function (k) { s = s.split("{" + k + "}").join(vars[k]); });
    }
    return s;
  };
  I18n.prototype.set = function (lang) {
    this.lang = lang;
    localStorage.setItem("leitai.lang", lang);
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  };
  // apply fills every element with data-i18n="key" with its text.
  I18n.prototype.apply = function (root) {
    var self = this;
    (root || document).querySelectorAll("[data-i18n]").forEach(function (el) {
      el.textContent = self.t(el.getAttribute("data-i18n"));
    });
    (root || document).querySelectorAll("[data-i18n-placeholder]").forEach(function (el) {
      el.placeholder = self.t(el.getAttribute("data-i18n-placeholder"));
    });
  };

  // Session is one logical connection to the server that survives drops.
  //   opts.hello(): the data of the first hello ({name} or {token})
  //   opts.storageKey: where the resume token is kept (sessionStorage)
  //   opts.onMessage(msg), opts.onStatus("connecting"|"open"|"reconnecting"|"closed", detail)
  function Session(opts) {
    this.opts = opts;
    this.ws = null;
    this.seq = 0;
    this.pending = {}; // id -> {resolve, reject}
    this.offset = 0; // server clock minus local clock, in ms
    this.rtt = -1;
    this.attempt = 0;
    this.closed = false;
    this.welcome = null;
    this.pingTimer = null;
    this.queue = []; // requests made while disconnected
  }
  Session.prototype.url = function () {
    var proto = location.protocol === "https:" ? "wss:" : "ws:";
    return proto + "//" + location.host + "/ws";
  };
  Session.prototype.resumeToken = function () {
    return sessionStorage.getItem(this.opts.storageKey || "leitai.resume");
  };
  Session.prototype.start = function () {
    var self = this;
    self.closed = false;
    self.status(self.attempt === 0 ? "connecting" : "reconnecting");
    var ws = new WebSocket(self.url());
    self.ws = ws;
    ws.onopen = function () {
      var resume = self.resumeToken();
      var data = resume ? { resume: resume } : self.opts.hello();
      self.rawSend("hello", data).then(function (w) {
        self.onWelcome(w);
      }, function (err) {
        if (resume && err && (err.code === "unauthenticated" || err.code === "not_found")) {
          // The grace window passed: start over as a new session.
          sessionStorage.removeItem(self.opts.storageKey || "leitai.resume");
          self.rawSend("hello", self.opts.hello()).then(function (w) { self.onWelcome(w); },
            function (e) { self.refused(e); });
        } else {
          self.refused(err);
        }
      });
      self.ping();
    };
    ws.onmessage = function (ev) {
      var msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      if (msg.re && self.pending[msg.re]) {
        var p = self.pending[msg.re];
        delete self.pending[msg.re];
        if (msg.type === "error") p.reject(msg.data || {});
        else p.resolve(msg.data || {}, msg);
        if (msg.type === "pong" || msg.type === "welcome") {
          if (msg.type === "welcome") return; // onWelcome handles it
          return;
        }
      }
      if (self.opts.onMessage) self.opts.onMessage(msg);
    };
    ws.onclose = function (ev) {
      clearInterval(self.pingTimer);
      Object.keys(self.pending).forEach(function (id) {
        self.pending[id].reject({ code: "unavailable", message: "connection lost" });
      });
      self.pending = {};
      self.welcome = null;
      // 4001: another tab took over; 4003: kicked; 1008: policy. Do not fight them.
      if (self.closed || ev.code === 4001 || ev.code === 4003 || ev.code === 1008) {
        self.status("closed", ev.code);
        return;
      }
      self.attempt++;
      var delay = Math.min(10000, 300 * Math.pow(2, Math.min(self.attempt, 6))) * (0.7 + Math.random() * 0.6);
      self.status("reconnecting", self.attempt);
      setTimeout(function () { if (!self.closed) self.start(); }, delay);
    };
  };
  Session.prototype.onWelcome = function (w) {
    this.attempt = 0;
    this.welcome = w;
    if (w.resume) sessionStorage.setItem(this.opts.storageKey || "leitai.resume", w.resume);
    var self = this;
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(function () { self.ping(); }, 5000);
    this.status("open", w);
    var q = this.queue;
    this.queue = [];
    q.forEach(function (f) { f(); });
  };
  // refused ends a session whose hello the server turned down: reconnecting
  // would only be turned down again.
  Session.prototype.refused = function (err) {
    this.closed = true;
    if (this.ws) this.ws.close(1000, "hello refused");
    // opts.i18n, when the page gives it, says the refusal in its language.
    this.status("closed", err && (this.opts.i18n ? this.opts.i18n.serverText(err) : err.message));
  };
  Session.prototype.status = function (s, detail) {
    if (this.opts.onStatus) this.opts.onStatus(s, detail);
  };
  Session.prototype.rawSend = function (type, data) {
    var self = this;
    var id = String(++self.seq);
    return new Promise(function (resolve, reject) {
      self.pending[id] = { resolve: resolve, reject: reject };
      try {
        self.ws.send(JSON.stringify({ type: type, id: id, data: data || {} }));
      } catch (e) {
        delete self.pending[id];
        reject({ code: "unavailable", message: String(e) });
      }
    });
  };
  // send makes a request once the session is welcomed and resolves with the
  // reply's data, or rejects with {code, message}.
  Session.prototype.send = function (type, data) {
    var self = this;
    if (self.welcome && self.ws && self.ws.readyState === 1) return self.rawSend(type, data);
    return new Promise(function (resolve, reject) {
      self.queue.push(function () { self.rawSend(type, data).then(resolve, reject); });
    });
  };
  Session.prototype.ping = function () {
    var self = this;
    if (!self.ws || self.ws.readyState !== 1) return;
    var t = Date.now();
    self.rawSend("ping", { t: t }).then(function (d) {
      var now = Date.now();
      var rtt = now - t;
      var off = d.server_time - (t + now) / 2;
      // Keep the estimate from the fastest round trip seen: it has the least error.
      if (self.rtt < 0 || rtt <= self.rtt * 1.5) {
        self.offset = self.rtt < 0 ? off : (self.offset * 0.5 + off * 0.5);
        self.rtt = self.rtt < 0 ? rtt : Math.min(self.rtt, rtt);
      }
    }, function () {});
  };
  // serverNow is the server's clock as best known here.
  Session.prototype.serverNow = function () {
    return Date.now() + this.offset;
  };
  // drop closes the socket as a network failure would; the session reconnects.
  Session.prototype.drop = function () {
    if (this.ws) this.ws.close(4000, "dropped");
  };
  Session.prototype.close = function () {
    this.closed = true;
    if (this.ws) this.ws.close(1000, "bye");
  };

  // REASONS says the server's refusals in the page's language. The server
  // names each by a stable reason (error.data.reason, kicked.code, an
  // import row's reason) with params ({max}, or {0} {1}… for import rows);
  // a reason not listed here falls back to the server's English message.
  var REASONS = {
    zh: {
      name_length: "昵称需为 1 到 {max} 个字符", name_chars: "昵称不能包含控制字符或看不见的字符", name_blocked: "该昵称不被允许",
      resume_expired: "登录已过期，请重新进入", token_unknown: "链接无效或已失效", event_not_running: "活动未在进行",
      team_unavailable: "团队匹配暂未开放", category_unknown: "没有分类“{category}”", mode_unknown: "未知的比赛模式",
      already_playing: "你已在匹配或比赛中", bad_lang: "语言只能是中文或英文", not_enough_questions: "符合条件的题目不够",
      pin_unknown: "找不到该活动，请检查 PIN", file_no_questions: "文件里没有题目", organizer_only: "需要组织者令牌",
      removed: "你已被移出本场比赛", removed_by_host: "主持人已将你移出比赛", event_ended: "活动已结束",
      late_join_off: "活动已开始，不允许中途加入", team_required: "请选择队伍", paused: "比赛已暂停", time_up: "本题已超时",
      file_empty: "文件是空的，第一行应为列名", daily_done: "今天的每日答题已完成，明天再来", solo_kind_unknown: "未知的答题方式",
      empty: "不能为空", not_utf8: "不是有效的 UTF-8 文本", too_long: "太长（{0} 个字符，最多 {1}）",
      id_too_long: "编号太长（最多 {0} 个字符）", id_chars: "编号不能包含空格或控制字符",
      type_empty: "题型为空；可用 single、multi、truefalse 或 text", type_unknown: "“{0}”不是已知题型；可用 single、multi、truefalse 或 text",
      difficulty_range: "难度 {0} 超出范围；可用 1（简单）、2（中等）、3（困难）或留空", difficulty_bad: "“{0}”不是有效难度；可用 1、2、3 或留空",
      not_number: "不是数字", weight_range: "权重 {0} 超出范围；可用 0 到 {1}（0 表示 1）", lang_unknown: "不支持语言“{0}”；可用 zh 或 en",
      options_count: "{0} 题需要 {1} 到 {2} 个选项，实际 {3} 个", option_key: "选项键“{0}”不在 A 到 F 之间", option_key_twice: "选项键 {0} 重复",
      option_gap: "缺少选项 {0}，但给了选项 {1}", answer_empty: "答案为空；请填写正确选项的键",
      single_one_answer: "单选题只能有一个正确选项，实际 {0} 个（{1}）", answer_not_option: "“{0}”不是选项的键（{1}）", answer_twice: "答案 {0} 重复",
      truefalse_options: "判断题只能有 T 和 F 两个选项，且按此顺序", truefalse_one_answer: "判断题只能有一个答案（T 或 F），实际 {0} 个",
      text_no_options: "填空题不能有选项；请留空 a 到 f 列", truefalse_columns: "判断题只用 a（对）和 b（错）两列",
      text_answer_empty: "答案为空；请至少给出一个可接受的答案", text_answers_many: "有 {0} 个可接受答案，最多 {1} 个",
      text_answer_blank: "“{0}”去掉空格后没有内容", column_unnamed: "该列有内容但表头没有列名",
      duplicate_question: "同样的题目（题型和题干相同）已在第 {0} 行", duplicate_id: "题目编号“{0}”已在第 {1} 行使用",
      unknown_column: "未知列“{0}”；可用的列为 {1}", column_twice: "列“{0}”出现了两次", column_missing: "表头缺少“{0}”列",
      json_not_object: "必须是包含题目字段的 JSON 对象", json_not_string: "必须是字符串", json_answer_shape: "必须是字符串或字符串数组",
      json_options_shape: "必须是字符串数组，或包含 key 和 text 的对象数组", json_option_shape: "必须是字符串，或只含 key 和 text 的对象",
      json_unknown_field: "未知字段；可用字段为 id、type、text、options、answer、category、difficulty、explanation、weight、lang"
    },
    en: {
      name_length: "A name has 1 to {max} characters", name_chars: "A name may not contain control or invisible characters", name_blocked: "That name is not allowed",
      resume_expired: "Your session expired; please join again", token_unknown: "This link is unknown or no longer valid", event_not_running: "The event is not running",
      team_unavailable: "Team matches are not available yet", category_unknown: "No category \"{category}\"", mode_unknown: "Unknown match mode",
      already_playing: "You are already in a queue or a game", bad_lang: "The language must be Chinese or English", not_enough_questions: "Not enough questions for that choice",
      pin_unknown: "No event with this PIN", file_no_questions: "The file has no questions", organizer_only: "This needs the organizer token",
      removed: "You were removed from this game", removed_by_host: "The host removed you from the game", event_ended: "The event has ended",
      late_join_off: "The event has started and late join is off", team_required: "Please choose a team", paused: "The game is paused", time_up: "Time is up for this question",
      daily_done: "Today's daily practice is done; come back tomorrow", solo_kind_unknown: "Unknown solo format"
    }
  };

  // serverText is what to show for a server error, kick or import row:
  // the page-language text of its reason, else the server's message.
  I18n.prototype.serverText = function (e) {
    if (!e) return "";
    var text = e.reason && REASONS[this.lang] && REASONS[this.lang][e.reason];
    if (!text) return e.message || e.code || "";
    var p = e.params;
    if (p && typeof p === "object") {
      Object.keys(p).forEach(function (k) { text = text.split("{" + k + "}").join(String(p[k])); });
    }
    return text;
  };
  I18n.prototype.hasServerText = function (e) {
    return !!(e && e.reason && REASONS[this.lang] && REASONS[this.lang][e.reason]);
  };

  global.Leitai = { esc: esc, I18n: I18n, Session: Session };
})(window);
