/* qa-chat: the assistant as a chat box in any page, with one script tag.
 *
 *   <script src="https://qa.example.org/widget.js" defer></script>
 *   <qa-chat heading="Ask our archive"></qa-chat>
 *
 * Attributes: heading (the title bar), mode ("inline", the default, or "launcher": a round
 * button in the corner that opens the box), width and height (CSS lengths such as 420px or
 * 80vh), placeholder, k (passages to retrieve), and server (the qa server's URL, by default
 * where this script came from).
 *
 * It asks POST {server}/api/v1/ask and shows the quoted answer; each [n] opens the cited
 * passage with the quoted sentence highlighted (and the short answer inside it, when there is
 * one), its title, date and source. The host page's origin must be listed in the server's
 * QA_CORS_ORIGINS. No key is needed or kept. Keyboard: Enter asks, the focus comes back to the
 * box after each answer, Esc closes the launcher's box. Colours follow the reader's light or
 * dark scheme.
 *
 * Document text is untrusted: it is only ever inserted as text (textContent, text nodes),
 * never parsed as HTML; this file has no innerHTML at all. It loads nothing but the API.
 */
(function () {
  "use strict";

  if (!window.customElements || window.customElements.get("qa-chat")) return;

  // Where this script was served from is where the API is, so it works from any site.
  var scriptEl = document.currentScript ||
    document.querySelector('script[src$="/widget.js"], script[src="widget.js"]');
  var DEFAULT_SERVER = new URL(".", scriptEl ? scriptEl.src : location.href).href;
  var LENGTH = /^\d+(\.\d+)?(px|%|em|rem|vh|vw|ch)$/;
  var HISTORY_TURNS = 6;

  var CSS = [
    ":host{display:block;width:var(--qa-width,100%);max-width:100%;color:#1f2328;",
    "font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;text-align:left}",
    ":host([mode=launcher]){position:fixed;right:20px;bottom:20px;width:auto;z-index:2147483000}",
    "*{box-sizing:border-box}",
    ".panel{display:flex;flex-direction:column;height:var(--qa-height,520px);background:#fff;",
    "border:1px solid #d0d7de;border-radius:12px;overflow:hidden;",
    "box-shadow:0 4px 16px rgba(31,35,40,.12)}",
    ":host([mode=launcher]) .panel{position:absolute;right:0;bottom:64px;",
    "width:min(var(--qa-width,380px),calc(100vw - 40px));height:min(var(--qa-height,520px),",
    "calc(100vh - 110px))}",
    ".panel[hidden]{display:none}",
    "header{display:flex;align-items:center;gap:8px;padding:10px 14px;background:#0b5cad;",
    "color:#fff;font-weight:600}",
    "header .title{flex:1;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}",
    "header button{all:unset;cursor:pointer;font-size:20px;line-height:1;padding:0 4px}",
    "header button[hidden]{display:none}",
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:10px;",
    "background:#f6f8fa}",
    ".hint{color:#59636e;font-size:13px}",
    ".msg{max-width:92%;padding:8px 11px;border-radius:10px;white-space:pre-wrap;",
    "overflow-wrap:anywhere}",
    ".user{align-self:flex-end;background:#0b5cad;color:#fff}",
    ".bot{align-self:flex-start;background:#fff;border:1px solid #d0d7de}",
    ".error{align-self:flex-start;background:#fff1f0;border:1px solid #f5c2c0;color:#82071e}",
    ".busy{align-self:flex-start;color:#59636e;font-style:italic}",
    ".searched,.related-label{display:block;margin-top:6px;color:#59636e;font-size:12px}",
    "button.cite{all:unset;cursor:pointer;color:#0b5cad;font-weight:600;padding:0 2px;",
    "border-radius:4px}",
    "button.cite:hover,button.cite:focus-visible,button.cite[aria-expanded=true]{",
    "background:#ddf4ff;outline:none}",
    "button.related{all:unset;cursor:pointer;display:block;color:#0b5cad;font-size:13px;",
    "margin-top:2px}",
    ".passage{margin-top:8px;padding:8px 10px;border-left:3px solid #0b5cad;background:#f6f8fa;",
    "border-radius:0 6px 6px 0;font-size:13px}",
    ".passage[hidden]{display:none}",
    ".ptitle{display:block;font-weight:600}",
    ".meta{display:block;color:#59636e;font-size:12px;margin-bottom:4px;overflow-wrap:anywhere}",
    "mark{background:#fff3b0;color:#1f2328;padding:0 1px}",
    "mark.short{background:#ffc970;font-weight:600}",
    "form{display:flex;gap:8px;padding:10px;border-top:1px solid #d0d7de;background:#fff}",
    "input{flex:1;min-width:0;font:inherit;padding:8px 10px;border:1px solid #d0d7de;",
    "border-radius:8px}",
    "input:focus{outline:2px solid #0b5cad;outline-offset:-1px}",
    "form button,.launcher{font:inherit;font-weight:600;border:0;border-radius:8px;",
    "background:#0b5cad;color:#fff;padding:8px 14px;cursor:pointer}",
    "form button:disabled{opacity:.6;cursor:default}",
    ".launcher{border-radius:50%;width:52px;height:52px;padding:0;font-size:22px;",
    "box-shadow:0 4px 12px rgba(31,35,40,.25)}",
    ":host(:not([mode=launcher])) .launcher{display:none}",
    "@media (prefers-color-scheme:dark){",
    ":host{color:#e6edf3}",
    ".panel,form,input{background:#0d1117;border-color:#3d444d;color:#e6edf3}",
    ".log,.passage{background:#161b22}",
    ".bot{background:#0d1117;border-color:#3d444d}",
    ".hint,.busy,.searched,.related-label,.meta{color:#b1bac4}",
    ".error{background:#3b1618;border-color:#8e1519;color:#ffdcd7}",
    "button.cite,button.related{color:#8cc8ff}",
    "button.cite:hover,button.cite:focus-visible,button.cite[aria-expanded=true]{background:#1c3a5c}",
    ".passage{border-left-color:#8cc8ff}",
    "mark{background:#594a0c;color:#fff8dc}",
    "mark.short{background:#9a5a00;color:#fff8dc}",
    "}"
  ].join("");

  /* An element with attributes and children; strings become text nodes, never markup. */
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  /* Python counts characters as code points; JavaScript strings count UTF-16 units. */
  function slice(chars, start, end) { return chars.slice(start, end).join(""); }

  /* The short answer's offsets inside citation c's sentence, or null when it is elsewhere. */
  function shortIn(c, short) {
    if (!short || short.n !== c.n || short.start < c.highlight_start ||
        short.end > c.highlight_end || short.end <= short.start) return null;
    return [short.start - c.highlight_start, short.end - c.highlight_start];
  }

  /* Citation c's sentence as nodes: text, with the short answer (if any) in its own mark. */
  function sentenceNodes(c, short) {
    var chars = Array.from(c.passage || "").slice(c.highlight_start - c.passage_start,
                                                  c.highlight_end - c.passage_start);
    var at = shortIn(c, short);
    if (!at) return [chars.join("")];
    return [slice(chars, 0, at[0]), el("mark", { "class": "short" }, [slice(chars, at[0], at[1])]),
            slice(chars, at[1], chars.length)];
  }

  function passageView(citation, highlight, short) {
    var chars = Array.from(citation.passage || "");
    var from = highlight ? citation.highlight_start - citation.passage_start : 0;
    var to = highlight ? citation.highlight_end - citation.passage_start : 0;
    var where = [citation.date || "no date"];
    if (citation.source) where.push(citation.source);
    if (citation.page) where.push("page " + citation.page);
    var body = el("div", { "class": "ptext" }, [slice(chars, 0, from)]);
    if (to > from) body.appendChild(el("mark", {}, sentenceNodes(citation, short)));
    body.appendChild(document.createTextNode(slice(chars, Math.max(from, to))));
    return [el("span", { "class": "ptitle" }, [citation.title || "(untitled)"]),
            el("span", { "class": "meta" }, [where.join(" · ")]), body];
  }

  class QaChat extends HTMLElement {
    static get observedAttributes() { return ["heading", "width", "height", "placeholder"]; }

    constructor() {
      super();
      this.history = [];
      var root = this.attachShadow({ mode: "open" });
      if (root.adoptedStyleSheets !== undefined && window.CSSStyleSheet) {
        var sheet = new CSSStyleSheet();  // works under a host page's strict style-src
        sheet.replaceSync(CSS);
        root.adoptedStyleSheets = [sheet];
      } else {
        root.appendChild(el("style", {}, [CSS]));
      }
      this.titleEl = el("span", { "class": "title" });
      this.closeBtn = el("button", { type: "button", "aria-label": "Close", "class": "close" },
                         ["×"]);
      this.log = el("div", { "class": "log", role: "log", "aria-live": "polite" },
                    [el("div", { "class": "hint" }, ["Answers are quoted from the documents; " +
                      "click a number like [1] to see the passage."])]);
      this.input = el("input", { type: "text", name: "question", autocomplete: "off",
                                 "aria-label": "Your question" });
      this.sendBtn = el("button", { type: "submit" }, ["Ask"]);
      this.form = el("form", {}, [this.input, this.sendBtn]);
      this.panel = el("section", { "class": "panel", role: "region" },
                      [el("header", {}, [this.titleEl, this.closeBtn]), this.log, this.form]);
      this.launcher = el("button", { type: "button", "class": "launcher",
                                     "aria-label": "Ask a question", "aria-expanded": "false" },
                         ["?"]);
      root.appendChild(this.panel);
      root.appendChild(this.launcher);
      this.form.addEventListener("submit", (e) => { e.preventDefault(); this.ask(); });
      this.launcher.addEventListener("click", () => this.toggle());
      this.closeBtn.addEventListener("click", () => this.toggle(false));
      this.panel.addEventListener("keydown", (e) => {
        if (e.key === "Escape" && this.getAttribute("mode") === "launcher") {
          e.preventDefault();
          this.toggle(false);
          this.launcher.focus();
        }
      });
    }

    connectedCallback() {
      this.update();
      this.toggle(this.getAttribute("mode") !== "launcher");
    }

    attributeChangedCallback() { this.update(); }

    update() {
      var heading = this.getAttribute("heading") || "Ask the documents";
      this.titleEl.textContent = heading;
      this.panel.setAttribute("aria-label", heading);
      this.input.placeholder = this.getAttribute("placeholder") || "Type a question…";
      this.closeBtn.hidden = this.getAttribute("mode") !== "launcher";
      ["width", "height"].forEach((name) => {
        var value = (this.getAttribute(name) || "").trim();
        if (LENGTH.test(value)) this.style.setProperty("--qa-" + name, value);
        else this.style.removeProperty("--qa-" + name);
      });
    }

    toggle(open) {
      var show = open === undefined ? this.panel.hidden : open;
      this.panel.hidden = !show;
      this.launcher.setAttribute("aria-expanded", String(show));
      if (show && this.getAttribute("mode") === "launcher") this.input.focus();
    }

    endpoint() {
      var server = this.getAttribute("server") || DEFAULT_SERVER;
      return new URL("api/v1/ask", server.endsWith("/") ? server : server + "/").href;
    }

    add(node) {
      this.log.appendChild(node);
      this.log.scrollTop = this.log.scrollHeight;
      return node;
    }

    async ask() {
      var question = this.input.value.trim();
      if (!question || this.sendBtn.disabled) return;
      this.input.value = "";
      this.add(el("div", { "class": "msg user" }, [question]));
      var busy = this.add(el("div", { "class": "busy" }, ["Searching the documents…"]));
      this.sendBtn.disabled = true;
      var body = { question: question, history: this.history.slice(-HISTORY_TURNS) };
      var k = parseInt(this.getAttribute("k") || "", 10);
      if (k > 0) body.k = k;
      try {
        var response = await fetch(this.endpoint(), {
          method: "POST", mode: "cors", credentials: "omit",
          headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
        });
        var data = await response.json().catch(() => ({}));
        if (!response.ok) throw new Error(data.message || "the server answered " + response.status);
        this.add(this.answerView(data));
        this.history.push({ role: "user", content: question },
                          { role: "assistant", content: data.answer });
      } catch (error) {
        var text = error instanceof TypeError
          ? "Could not reach the assistant at " + new URL(this.endpoint()).origin +
            ". If this page is on another site, that server must allow its origin."
          : error.message;
        this.add(el("div", { "class": "msg error", role: "alert" }, [text]));
      } finally {
        busy.remove();
        this.sendBtn.disabled = false;
        this.input.focus();
      }
    }

    answerView(data) {
      var msg = el("div", { "class": "msg bot" });
      var text = el("div", { "class": "answer" });
      var passage = el("div", { "class": "passage", hidden: "" });
      var buttons = [];
      var open = (citation, button, highlight) => {
        var same = !passage.hidden && passage.dataset.key === button.dataset.key;
        buttons.forEach((b) => b.setAttribute("aria-expanded", "false"));
        passage.replaceChildren.apply(passage, same ? []
          : passageView(citation, highlight, data.short_answer));
        passage.hidden = same;
        passage.dataset.key = button.dataset.key;
        button.setAttribute("aria-expanded", String(!same));
      };
      if (data.abstained) {
        text.appendChild(document.createTextNode(data.answer));
        (data.related || []).forEach((c, i) => {
          if (i === 0) text.appendChild(el("span", { "class": "related-label" },
                                           ["Possibly related passages (not an answer):"]));
          var b = el("button", { type: "button", "class": "related", "data-key": "r" + i },
                     ["· " + (c.title || c.source)]);
          b.addEventListener("click", () => open(c, b, false));
          buttons.push(b);
          text.appendChild(b);
        });
      } else {
        (data.citations || []).forEach((c) => {
          var b = el("button", { type: "button", "class": "cite", "data-key": "c" + c.n,
                                 "aria-expanded": "false",
                                 "aria-label": "Source " + c.n + ": " + (c.title || c.source) },
                     ["[" + c.n + "]"]);
          b.addEventListener("click", () => open(c, b, true));
          buttons.push(b);
          text.append.apply(text, sentenceNodes(c, data.short_answer).concat([" ", b, " "]));
        });
      }
      msg.appendChild(text);
      if (data.query_used && data.query_used !== data.question) {
        msg.appendChild(el("span", { "class": "searched" }, ["Searched for: " + data.query_used]));
      }
      msg.appendChild(passage);
      return msg;
    }
  }

  window.customElements.define("qa-chat", QaChat);
})();
