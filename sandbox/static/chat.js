// Feijian sandbox chat: act as one simulated Telegram user through the /control API.
"use strict";

// UI labels: zh-CN first, English second.
const I18N = {
  bot: ["机器人", "Bot"],
  user: ["用户", "User"],
  newUserName: ["新用户名字", "New user's name"],
  newUserUsername: ["用户名(可选)", "username (optional)"],
  createUser: ["新建", "Create"],
  pickUser: ["— 选择用户 —", "pick a user"],
  noBot: ["等待机器人连接…", "Waiting for a bot to connect…"],
  noUser: ["请先选择或新建用户", "Pick or create a user first"],
  latitude: ["纬度", "Latitude"],
  longitude: ["经度", "Longitude"],
  place: ["住户/地点", "Household / place"],
  noPlaces: ["(无预设地点)", "(no places)"],
  distance: ["距离(米)", "Distance (m)"],
  nearPlace: ["取附近一点", "Point nearby"],
  sendLocation: ["发送位置", "Send location"],
  livePeriod: ["实时(秒)", "Live (s)"],
  startLive: ["开始实时位置", "Start live location"],
  liveActive: ["实时位置共享中", "Live location on"],
  moveLive: ["移动", "Move"],
  stopLive: ["停止共享", "Stop sharing"],
  caption: ["说明文字", "Caption"],
  asPhoto: ["发送照片", "Send as photo"],
  asFile: ["作为文件发送", "Send as file"],
  typeMessage: ["输入消息…", "Message…"],
  send: ["发送", "Send"],
  edited: ["已编辑", "edited"],
  deleted: ["已删除", "deleted"],
  forwarded: ["转发自", "Forwarded from"],
  typing: ["对方正在输入…", "typing…"],
  blocked: ["你已屏蔽该机器人", "You blocked this bot"],
  error: ["出错", "Error"],
  location: ["位置", "Location"],
  liveLocation: ["实时位置", "Live location"],
  contactShared: ["已分享联系方式", "Contact shared"],
  attach: ["附件", "Attach"],
};

// The demo county's centre (巴林左旗), the point offered when no places are given.
const COUNTY_CENTRE = { latitude: 43.98, longitude: 119.38 };

function t(key) {
  const pair = I18N[key];
  return pair ? `${pair[0]} ${pair[1]}` : key;
}

const $ = (id) => document.getElementById(id);
const state = {
  bot: localStorage.getItem("sandbox.bot") || "",
  userId: Number(new URLSearchParams(location.search).get("user")) || Number(localStorage.getItem("sandbox.user")) || 0,
  cursor: 0,
  messages: new Map(),
  answersSeen: new Map(),
  places: [],
  pointChosen: false, // once the user sets the point, loading places no longer moves it
  liveMessageId: null,
  polling: false,
};

function applyI18n() {
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
}

async function api(method, path, body, isForm) {
  const url = new URL(path, location.origin);
  if (state.bot) url.searchParams.set("bot", state.bot);
  const opts = { method, headers: {} };
  if (body !== undefined) {
    if (isForm) { opts.body = body; } else { opts.body = JSON.stringify(body); opts.headers["Content-Type"] = "application/json"; }
  }
  const resp = await fetch(url, opts);
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    const detail = typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail || data);
    throw new Error(detail);
  }
  return data;
}

function setStatus(text) { $("status").textContent = text || ""; }
function showError(err) { setStatus(`${t("error")}: ${err.message || err}`); }

function toast(text, alert) {
  const el = $("toast");
  el.textContent = text;
  el.className = alert ? "toast alert" : "toast";
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, alert ? 3500 : 1800);
}

// ------------------------------------------------------------------ bots and users

async function loadBots() {
  const bots = await api("GET", "/control/bots");
  const sel = $("bot-select");
  sel.innerHTML = "";
  if (!bots.length) {
    const opt = document.createElement("option");
    opt.textContent = t("noBot");
    opt.value = "";
    sel.appendChild(opt);
    state.bot = "";
    return false;
  }
  for (const b of bots) {
    const opt = document.createElement("option");
    opt.value = b.username;
    opt.textContent = "@" + b.username;
    sel.appendChild(opt);
  }
  if (!bots.some((b) => b.username === state.bot)) {
    state.bot = (bots.find((b) => b.default) || bots[0]).username;
  }
  sel.value = state.bot;
  return true;
}

async function loadUsers() {
  const users = await api("GET", "/control/users");
  const sel = $("user-select");
  sel.innerHTML = "";
  const none = document.createElement("option");
  none.value = "";
  none.textContent = t("pickUser");
  sel.appendChild(none);
  for (const u of users) {
    const opt = document.createElement("option");
    opt.value = String(u.id);
    opt.textContent = `${u.first_name}${u.username ? " @" + u.username : ""} (${u.id})`;
    sel.appendChild(opt);
  }
  if (!users.some((u) => u.id === state.userId)) state.userId = 0;
  sel.value = state.userId ? String(state.userId) : "";
}

function selectUser(id) {
  state.userId = id;
  localStorage.setItem("sandbox.user", String(id || ""));
  resetChat();
}

function resetChat() {
  state.cursor = 0;
  state.messages.clear();
  state.answersSeen.clear();
  state.liveMessageId = null;
  $("live-controls").hidden = true;
  $("messages").innerHTML = "";
  $("reply-keyboard").hidden = true;
  setStatus(state.userId ? "" : t("noUser"));
}

// ------------------------------------------------------------------ rendering

const ENTITY_TAGS = { bold: "b", italic: "i", underline: "u", strikethrough: "s", code: "code", pre: "pre" };

function escapeHtml(s) {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// Entity offsets are UTF-16 code units, which is exactly how JS strings index.
function renderText(text, entities) {
  if (!entities || !entities.length) return escapeHtml(text);
  const cuts = new Set([0, text.length]);
  for (const e of entities) { cuts.add(e.offset); cuts.add(Math.min(text.length, e.offset + e.length)); }
  const points = [...cuts].sort((a, b) => a - b);
  let html = "";
  for (let i = 0; i < points.length - 1; i++) {
    const [a, b] = [points[i], points[i + 1]];
    let piece = escapeHtml(text.slice(a, b));
    for (const e of entities) {
      if (e.offset <= a && e.offset + e.length >= b) {
        if (ENTITY_TAGS[e.type]) piece = `<${ENTITY_TAGS[e.type]}>${piece}</${ENTITY_TAGS[e.type]}>`;
        else if (e.type === "spoiler") piece = `<span class="spoiler">${piece}</span>`;
        else if (e.type === "text_link" || e.type === "url") {
          const href = e.type === "url" ? text.slice(e.offset, e.offset + e.length) : e.url;
          if (/^(https?:|tg:)/i.test(href || "")) piece = `<a href="${escapeHtml(href)}" target="_blank" rel="noopener">${piece}</a>`;
        }
      }
    }
    html += piece;
  }
  return html;
}

function originName(o) {
  if (!o) return "";
  if (o.sender_user) return o.sender_user.first_name;
  if (o.sender_user_name) return o.sender_user_name;
  if (o.sender_chat) return o.sender_chat.title || "";
  if (o.chat) return o.chat.title || "";
  return "";
}

function renderMessage(m) {
  const extra = m.sandbox || {};
  const wrap = document.createElement("div");
  wrap.className = "msg-wrap";
  wrap.dataset.id = String(m.message_id);
  const bubble = document.createElement("div");
  bubble.className = `msg ${extra.from_bot ? "bot" : "user"}${extra.deleted ? " deleted" : ""}`;
  bubble.dataset.testid = "message";
  bubble.dataset.id = String(m.message_id);
  let html = "";
  if (m.forward_origin) html += `<div class="forward">${t("forwarded")} ${escapeHtml(originName(m.forward_origin))}</div>`;
  if (extra.photo_url) html += `<img src="${extra.photo_url}" alt="photo" loading="lazy">`;
  if (m.sticker && extra.sticker_url) html += `<img src="${extra.sticker_url}" alt="${escapeHtml(m.sticker.emoji || "sticker")}" style="width:96px">`;
  if (m.document) {
    const name = escapeHtml(m.document.file_name || "file");
    html += `📄 <a href="${extra.document_url}" target="_blank" rel="noopener">${name}</a> <span class="meta">${m.document.file_size || 0} B</span>\n`;
  }
  if (m.venue) html += `🏠 <b>${escapeHtml(m.venue.title)}</b>\n${escapeHtml(m.venue.address)}\n`;
  else if (m.location) {
    const live = m.location.live_period ? `🔴 ${t("liveLocation")}` : `📍 ${t("location")}`;
    html += `${live}: ${m.location.latitude.toFixed(6)}, ${m.location.longitude.toFixed(6)}`;
  }
  if (m.contact) html += `👤 ${escapeHtml(m.contact.first_name)} ${escapeHtml(m.contact.phone_number)}`;
  if (m.text) html += renderText(m.text, m.entities);
  if (m.caption) html += renderText(m.caption, m.caption_entities);
  const time = new Date((m.edit_date || m.date) * 1000).toLocaleTimeString();
  const flags = [extra.deleted ? t("deleted") : "", m.edit_date ? t("edited") : ""].filter(Boolean).join(" · ");
  html += `<div class="meta">${flags ? flags + " · " : ""}${time}</div>`;
  bubble.innerHTML = html;
  wrap.appendChild(bubble);
  const rows = (m.reply_markup && m.reply_markup.inline_keyboard) || [];
  if (rows.length && !extra.deleted) {
    const kb = document.createElement("div");
    kb.className = "ikb";
    for (const row of rows) {
      const r = document.createElement("div");
      r.className = "ikb-row";
      for (const b of row) {
        let el;
        if (b.url) {
          el = document.createElement("a");
          el.href = b.url;
          el.target = "_blank";
          el.rel = "noopener";
        } else {
          el = document.createElement("button");
          el.type = "button";
          el.dataset.testid = "inline-button";
          el.addEventListener("click", () => press(m.message_id, b.callback_data));
        }
        el.textContent = b.text;
        r.appendChild(el);
      }
      kb.appendChild(r);
    }
    wrap.appendChild(kb);
  }
  return wrap;
}

function upsert(m) {
  state.messages.set(m.message_id, m);
  const list = $("messages");
  const node = renderMessage(m);
  const old = list.querySelector(`.msg-wrap[data-id="${m.message_id}"]`);
  if (old) { old.replaceWith(node); return; }
  const later = [...list.children].find((c) => Number(c.dataset.id) > m.message_id);
  if (later) list.insertBefore(node, later); else list.appendChild(node);
  list.scrollTop = list.scrollHeight;
}

function renderReplyKeyboard(kb) {
  const box = $("reply-keyboard");
  box.innerHTML = "";
  if (!kb || !kb.keyboard) { box.hidden = true; return; }
  for (const row of kb.keyboard) {
    const r = document.createElement("div");
    r.className = "rk-row";
    for (const b of row) {
      const btn = document.createElement("button");
      btn.type = "button";
      btn.textContent = b.text;
      btn.dataset.testid = "reply-button";
      btn.addEventListener("click", () => replyButton(b, kb));
      r.appendChild(btn);
    }
    box.appendChild(r);
  }
  box.hidden = false;
}

function showAnswers(m) {
  const answers = (m.sandbox && m.sandbox.callback_answers) || [];
  const seen = state.answersSeen.get(m.message_id) || 0;
  for (const a of answers.slice(seen)) if (a.text) toast(a.text, a.show_alert);
  state.answersSeen.set(m.message_id, answers.length);
}

// ------------------------------------------------------------------ polling

async function poll() {
  if (state.polling) return;
  state.polling = true;
  try {
    if (!state.bot) { await loadBots(); }
    if (!state.bot || !state.userId) return;
    const data = await api("GET", `/control/chats/${state.userId}/messages?since=${state.cursor}&who=all`);
    state.cursor = data.cursor;
    for (const m of data.messages) { upsert(m); showAnswers(m); }
    renderReplyKeyboard(data.reply_keyboard);
    const typing = data.chat_action && Date.now() / 1000 - data.chat_action.date < 6;
    if (data.blocked) setStatus(t("blocked"));
    else if (typing) setStatus(t("typing"));
    else if ($("status").textContent === t("typing")) setStatus("");
  } catch (err) {
    showError(err);
  } finally {
    state.polling = false;
  }
}

// ------------------------------------------------------------------ acting

function needUser() {
  if (!state.userId) { setStatus(t("noUser")); return false; }
  return true;
}

async function act(path, body, isForm) {
  if (!needUser()) return null;
  try {
    const res = await api("POST", `/control/users/${state.userId}/${path}`, body, isForm);
    await poll();
    return res;
  } catch (err) { showError(err); return null; }
}

function press(messageId, data) { return act("press", { message_id: messageId, data }); }

async function replyButton(b, kb) {
  if (b.request_location) { $("location-panel").hidden = false; await sendLocation(); }
  else if (b.request_contact) {
    const u = await api("GET", `/control/users/${state.userId}`);
    await act("contact", { phone_number: "+86138" + String(state.userId).slice(-8).padStart(8, "0"), first_name: u.first_name, user_id: u.id });
  } else { await act("text", { text: b.text }); }
  if (kb.one_time_keyboard) $("reply-keyboard").hidden = true;
}

function coords() { return { latitude: Number($("lat").value), longitude: Number($("lon").value) }; }

async function sendLocation() { await act("location", coords()); }

async function startLive() {
  const res = await act("live_location", { ...coords(), live_period: Number($("live-period").value) || 900 });
  if (res && res.message) { state.liveMessageId = res.message.message_id; $("live-controls").hidden = false; }
}

async function moveLive() {
  await act("live_location/move", { ...coords(), message_id: state.liveMessageId });
}

async function stopLive() {
  await act("live_location/stop", { message_id: state.liveMessageId });
  state.liveMessageId = null;
  $("live-controls").hidden = true;
}

function setPoint(lat, lon) {
  $("lat").value = lat.toFixed(6);
  $("lon").value = lon.toFixed(6);
}

function nudge(dlat, dlon) {
  const step = 20; // metres
  const lat = Number($("lat").value);
  state.pointChosen = true;
  setPoint(lat + (dlat * step) / 111320, Number($("lon").value) + (dlon * step) / (111320 * Math.cos((lat * Math.PI) / 180)));
}

async function loadPlaces() {
  try { state.places = await api("GET", "/control/places"); } catch (err) { state.places = []; }
  const sel = $("place-select");
  sel.innerHTML = "";
  if (!state.places.length) {
    const opt = document.createElement("option");
    opt.textContent = t("noPlaces");
    opt.value = "";
    sel.appendChild(opt);
  }
  state.places.forEach((p, i) => {
    const opt = document.createElement("option");
    opt.value = String(i);
    opt.textContent = p.address ? `${p.name} · ${p.address}` : p.name;
    sel.appendChild(opt);
  });
  // The default point is the first offered place (e.g. today's first household), else the county centre.
  if (!state.pointChosen) {
    const first = state.places[0] || COUNTY_CENTRE;
    setPoint(first.latitude, first.longitude);
  }
}

function usePlace() {
  const p = state.places[Number($("place-select").value)];
  if (!p) return;
  const d = Number($("place-distance").value) || 0;
  const bearing = Math.random() * 2 * Math.PI;
  const lat = p.latitude + (d * Math.cos(bearing)) / 111320;
  const lon = p.longitude + (d * Math.sin(bearing)) / (111320 * Math.cos((p.latitude * Math.PI) / 180));
  state.pointChosen = true;
  setPoint(lat, lon);
}

async function uploadFile(file, asFile) {
  const form = new FormData();
  form.append("file", file, file.name);
  form.append("as_file", asFile ? "true" : "false");
  form.append("file_name", file.name);
  const caption = $("caption").value.trim();
  if (caption) form.append("caption", caption);
  const res = await act(asFile ? "document" : "photo", form, true);
  if (res) $("caption").value = "";
}

// ------------------------------------------------------------------ wiring

function wire() {
  $("bot-select").addEventListener("change", (e) => { state.bot = e.target.value; localStorage.setItem("sandbox.bot", state.bot); resetChat(); poll(); });
  $("user-select").addEventListener("change", (e) => { selectUser(Number(e.target.value) || 0); poll(); });
  $("new-user").addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const u = await api("POST", "/control/users", {
        first_name: $("new-user-name").value.trim(),
        username: $("new-user-username").value.trim() || null,
        language_code: $("new-user-lang").value,
      });
      $("new-user-name").value = "";
      $("new-user-username").value = "";
      selectUser(u.id);
      await loadUsers();
      await poll();
    } catch (err) { showError(err); }
  });
  $("composer").addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = $("text").value;
    if (!text.trim()) return;
    const res = await act("text", { text });
    if (res) $("text").value = "";
  });
  $("toggle-location").addEventListener("click", () => { const p = $("location-panel"); p.hidden = !p.hidden; if (!p.hidden) loadPlaces(); });
  $("toggle-attach").addEventListener("click", () => { const p = $("attach-panel"); p.hidden = !p.hidden; });
  $("send-location").addEventListener("click", sendLocation);
  $("start-live").addEventListener("click", startLive);
  $("move-live").addEventListener("click", moveLive);
  $("stop-live").addEventListener("click", stopLive);
  $("use-place").addEventListener("click", usePlace);
  for (const id of ["lat", "lon"]) $(id).addEventListener("input", () => { state.pointChosen = true; });
  document.querySelectorAll(".nudge").forEach((b) => b.addEventListener("click", () => { nudge(Number(b.dataset.dlat), Number(b.dataset.dlon)); moveLive(); }));
  let asFile = false;
  $("pick-photo").addEventListener("click", () => { asFile = false; $("file-input").click(); });
  $("pick-file").addEventListener("click", () => { asFile = true; $("file-input").click(); });
  $("file-input").addEventListener("change", async (e) => {
    const file = e.target.files[0];
    if (file) await uploadFile(file, asFile || !/^image\//.test(file.type));
    e.target.value = "";
  });
  // Exposed for tests and power users: pick the upload mode before setting the file input.
  window.sandboxChat = { setUploadAsFile: (v) => { asFile = Boolean(v); }, state };
}

async function main() {
  applyI18n();
  wire();
  try { await loadBots(); await loadUsers(); await loadPlaces(); } catch (err) { showError(err); }
  resetChat();
  await poll();
  setInterval(poll, 600);
  setInterval(() => { loadUsers().catch(() => {}); if (!state.bot) loadBots().catch(() => {}); }, 5000);
}

main();
