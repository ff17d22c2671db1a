/* The chat page's behaviour beyond Gradio's: citations you can follow, copies that are clean.
 *
 * - A click on [n] opens the source holding sentence n, scrolls it into view, moves the focus
 *   there (for keyboards and screen readers) and flashes the sentence's mark.
 * - "Copy answer" copies the answer as plain text with [n] and footnotes; "Copy as Markdown"
 *   copies it with Markdown footnotes. Both texts come with the answer, already written.
 * - Gradio labels each message with its raw content, which here is HTML; the label becomes the
 *   message's words, so a screen reader reads what a sighted reader sees. Its example
 *   questions become a group of buttons (it calls them a list of none).
 *
 * It reads the page and never writes markup: no innerHTML, only text and attributes.
 */
(function () {
  "use strict";

  function showCitation(target) {
    for (var d = target.closest("details"); d; d = d.parentElement.closest("details")) {
      d.open = true;
    }
    target.scrollIntoView({ block: "center", behavior: "smooth" });
    target.focus({ preventScroll: true });
    target.classList.remove("qa-flash");
    void target.offsetWidth;  // restart the animation when the same [n] is clicked again
    target.classList.add("qa-flash");
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Pages served over plain http on another host have no clipboard API.
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    var done = document.execCommand("copy");
    area.remove();
    return done ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function copyFrom(button) {
    var reply = button.closest(".qa-reply");
    var kind = button.classList.contains("qa-copy-md") ? "pre.qa-markdown" : "pre.qa-plain";
    var source = reply && reply.querySelector(kind);
    if (!source) return;
    var label = button.dataset.label || button.textContent;
    button.dataset.label = label;
    copyText(source.textContent).then(
      function () { button.textContent = "Copied"; },
      function () { button.textContent = "Copy failed: select the text instead"; });
    setTimeout(function () { button.textContent = label; }, 2000);
  }

  document.addEventListener("click", function (event) {
    var el = event.target instanceof Element ? event.target : null;
    if (!el) return;
    var link = el.closest("a.qa-cite");
    if (link) {
      var target = document.getElementById(link.getAttribute("href").slice(1));
      if (target) {
        event.preventDefault();
        showCitation(target);
      }
      return;
    }
    var button = el.closest("button.qa-copy, button.qa-copy-md");
    if (button) copyFrom(button);
  });

  var RAW = /^(bot|user)'s message: /;

  function relabel(message) {
    var label = message.getAttribute("aria-label") || "";
    var who = RAW.exec(label);
    if (!who) return;
    var words = (message.textContent || "").replace(/\s+/g, " ").trim();
    var short = words.length > 160 ? words.slice(0, 157) + "…" : words;
    message.setAttribute("aria-label", (who[1] === "bot" ? "Answer: " : "Question: ") + short);
  }

  function relabelAll() {
    document.querySelectorAll('[data-testid="bot"][aria-label], [data-testid="user"][aria-label]')
      .forEach(relabel);
    // Gradio calls the examples a list but fills it with buttons; a group is what it is.
    document.querySelectorAll('#qa-chat .examples[role="list"]').forEach(function (group) {
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", "Example questions");
    });
  }

  new MutationObserver(relabelAll).observe(document.documentElement, {
    subtree: true, childList: true, attributes: true, attributeFilter: ["aria-label"]
  });
})();
