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
    this.status("closed", err && err.message);
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

  global.Leitai = { esc: esc, I18n: I18n, Session: Session };
})(window);
