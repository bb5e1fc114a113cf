// Leitai live leaderboard screen (/board#token=…&title=…): the top learners
// and the top units of a token's subtree, polled every few seconds. Rows
// slide to their new rank and a score that grew flashes and counts up. It
// only reads the leaderboards, so a read-only screen token (kind orgboard)
// is enough. The token travels in the URL fragment (never sent
// to the server or to another site) and is then taken out of the address bar.
"use strict";

(function () {
  const L = window.Leitai;
  const $ = (id) => document.getElementById(id);
  const KEY = "leitai.board_token";
  const ROWS = 10;
  const POLL_MS = 3000;
  const I = new L.I18n({
    zh: {
      title: "积分排行榜", title_of: "{name} · 积分排行榜", top_learners: "学习之星", top_units: "单位排行（人均积分）",
      p_day: "今日", p_week: "本周", p_month: "本月", p_all: "累计", stale: "连接中断，正在重试…",
      need_token: "请输入排行榜链接中的令牌", connect: "连接", bad_token: "链接无效或已失效",
      none: "暂无积分", pts: "分", per: "人均", part: "参学 {pct}"
    },
    en: {
      title: "Points leaderboard", title_of: "{name} · Points leaderboard", top_learners: "Top learners", top_units: "Top units (points per member)",
      p_day: "Today", p_week: "This week", p_month: "This month", p_all: "All time", stale: "Connection lost, retrying…",
      need_token: "Enter the token from the leaderboard link", connect: "Connect", bad_token: "Invalid or expired link",
      none: "No points yet", pts: "pts", per: "per member", part: "active {pct}"
    }
  });

  // Options come from the fragment (#token=…&title=…&period=day&org=u1&level=leaves)
  // or, for links typed by hand, from the query; the token is then hidden.
  const opts = new URLSearchParams(location.hash.replace(/^#/, ""));
  new URLSearchParams(location.search).forEach((v, k) => { if (!opts.has(k)) opts.set(k, v); });
  if (opts.get("token")) sessionStorage.setItem(KEY, opts.get("token"));
  opts.delete("token");
  history.replaceState(null, "", location.pathname + (opts.toString() ? "#" + opts : ""));
  let token = sessionStorage.getItem(KEY) || "";
  const period = ["day", "week", "month", "all"].includes(opts.get("period")) ? opts.get("period") : "week";
  const scopeOrg = opts.get("org") || "";
  const level = opts.get("level") === "leaves" ? "leaves" : "";

  async function api(path) {
    const res = await fetch(path, { headers: { Authorization: "Bearer " + token }, cache: "no-store" });
    const data = await res.json().catch(() => null);
    if (!res.ok) throw { status: res.status, code: ((data && data.error) || {}).code || "http_" + res.status };
    return data;
  }
  const q = (extra) => "?period=" + period + (scopeOrg ? "&org=" + encodeURIComponent(scopeOrg) : "") + extra;

  // A list keeps one element per key and moves it to its rank.
  function List(box, render) { this.box = box; this.render = render; this.rows = new Map(); }
  List.prototype.update = function (items) {
    const seen = new Set();
    items.slice(0, ROWS).forEach((it, i) => {
      seen.add(it.key);
      let el = this.rows.get(it.key);
      const fresh = !el;
      if (fresh) {
        el = document.createElement("div");
        el.className = "row enter";
        el.dataset.key = it.key;
        el.innerHTML = this.render(it);
        this.box.appendChild(el);
        this.rows.set(it.key, el);
        el.dataset.score = it.score;
      } else {
        el.innerHTML = this.render(it, Number(el.dataset.score));
      }
      el.classList.remove("r1", "r2", "r3");
      if (it.rank <= 3) el.classList.add("r" + it.rank);
      el.style.transform = "translateY(" + i * 100 + "%)";
      const before = Number(el.dataset.score);
      if (!fresh && it.score > before) {
        el.classList.remove("bump");
        void el.offsetWidth; // restart the animation
        el.classList.add("bump");
        countUp(el.querySelector(".score"), before, it.score);
      }
      el.dataset.score = it.score;
      if (fresh) requestAnimationFrame(() => requestAnimationFrame(() => el.classList.remove("enter")));
    });
    this.rows.forEach((el, key) => {
      if (seen.has(key)) return;
      this.rows.delete(key);
      el.classList.add("enter");
      setTimeout(() => el.remove(), 900);
    });
    const empty = this.box.querySelector(".empty");
    if (!items.length && !empty) this.box.insertAdjacentHTML("beforeend", '<div class="empty">' + L.esc(I.t("none")) + "</div>");
    if (items.length && empty) empty.remove();
  };

  function fmt(x) { return (Math.round(x * 10) / 10).toLocaleString(); }
  function countUp(el, from, to) {
    if (!el) return;
    const t0 = performance.now();
    (function step(now) {
      const f = Math.min(1, (now - t0) / 1000);
      el.textContent = fmt(from + (to - from) * (1 - Math.pow(1 - f, 3)));
      if (f < 1) requestAnimationFrame(step);
    })(t0);
  }

  const players = new List($("players"), (p, shown) =>
    '<div class="rank">' + p.rank + '</div><div class="who"><span class="name">' + L.esc(p.name) + '</span><span class="sub">' +
    L.esc(p.unit) + '</span></div><div class="score">' + fmt(shown == null ? p.score : shown) + "</div>");
  const units = new List($("units"), (u, shown) =>
    '<div class="rank">' + u.rank + '</div><div class="who"><span class="name">' + L.esc(u.name) + '</span><span class="sub">' +
    L.esc(I.t("part", { pct: Math.round(u.participation_rate * 100) + "%" })) + '</span></div><div class="rate">' +
    u.points + " " + L.esc(I.t("pts")) + '</div><div class="score">' + fmt(shown == null ? u.score : shown) + "</div>");

  let timer = null;
  let names = {};
  async function poll() {
    clearTimeout(timer);
    try {
      const [p, u] = await Promise.all([
        api("/api/v1/leaderboard/players" + q("&limit=" + ROWS)),
        api("/api/v1/leaderboard/units" + q("&by=per_member" + (level ? "&level=" + level : "")))
      ]);
      $("stale").hidden = true;
      (u.units || []).forEach((x) => { names[x.code] = x.name; });
      await loadNames((p.players || []).map((x) => x.unit));
      players.update((p.players || []).map((x) => ({ key: x.player, rank: x.rank, name: x.name, unit: names[x.unit] || x.unit, score: x.points })));
      units.update((u.units || []).map((x) => ({ key: x.code, rank: x.rank, name: x.name, points: x.points,
        participation_rate: x.participation_rate, score: x.points_per_member })));
      document.body.dataset.polls = String(Number(document.body.dataset.polls || 0) + 1);
    } catch (e) {
      if (e && (e.code === "unauthenticated" || e.code === "forbidden")) {
        $("token-error").textContent = token ? I.t("bad_token") : "";
        $("need-token").hidden = false;
        return;
      }
      $("stale").hidden = false;
    }
    timer = setTimeout(poll, POLL_MS);
  }

  // The title is given in the link (the token may not read the tree); the
  // names of the units come from the leaf units' board, fetched again at most
  // once a minute when a learner's unit is not known yet.
  function title() {
    const name = opts.get("title");
    $("title").textContent = name ? I.t("title_of", { name: name }) : I.t("title");
  }
  let namesAt = -Infinity;
  async function loadNames(codes) {
    if (codes.every((c) => names[c]) || performance.now() - namesAt < 60000) return;
    namesAt = performance.now();
    try {
      const r = await api("/api/v1/leaderboard/units" + q("&level=leaves"));
      (r.units || []).forEach((x) => { names[x.code] = x.name; });
    } catch (e) { /* the codes stay */ }
  }

  function tick() {
    const d = new Date();
    $("clock").textContent = String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
  }

  function applyLang() {
    I.apply();
    $("lang").textContent = I.lang === "zh" ? "EN" : "中文";
    $("period-label").textContent = I.t("p_" + period);
  }

  $("lang").addEventListener("click", () => { I.set(I.lang === "zh" ? "en" : "zh"); applyLang(); title(); });
  $("token-go").addEventListener("click", () => {
    token = $("board-token").value.trim();
    sessionStorage.setItem(KEY, token);
    $("need-token").hidden = true;
    poll();
  });
  I.set(I.lang);
  applyLang();
  tick();
  setInterval(tick, 10000);
  if (!token) { $("need-token").hidden = false; return; }
  title();
  poll();
})();
