/* The Documents view: the collection as a list, search by title, and — with the admin token —
 * upload by drag and drop (with progress) and delete.
 *
 * The token comes from the link `qa serve` prints (in the fragment, `#token=…`, which the
 * browser never sends anywhere) or from the form; it is kept in this tab's session storage and
 * sent as `Authorization: Bearer …` to the REST API. A token the server refuses is forgotten at
 * once: each refusal counts as a failed attempt, and the server locks out an address after a
 * few a minute, so a stale token must not go out again with every search. Document titles and
 * paths are inserted as text only: this file writes no markup.
 */
(function () {
  "use strict";

  var API = "api/v1/";
  var PAGE = 100;
  var KEY = "qa-admin-token";
  var $ = function (id) { return document.getElementById(id); };
  var state = { q: "", shown: 0, total: 0, canChange: false, everything: null };

  var fromLink = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (fromLink) {
    sessionStorage.setItem(KEY, decodeURIComponent(fromLink[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }

  function token() { return sessionStorage.getItem(KEY) || ""; }
  function auth() { return token() ? { Authorization: "Bearer " + token() } : {}; }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) {
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }

  function plural(n, word) { return n.toLocaleString() + " " + word + (n === 1 ? "" : "s"); }

  async function api(path, options) {
    var response = await fetch(API + path, options || { headers: auth() });
    var data = await response.json().catch(function () { return {}; });
    if (!response.ok) {
      var error = new Error(data.message || "the server answered " + response.status);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  async function load(more) {
    var params = new URLSearchParams({ offset: String(more ? state.shown : 0),
                                       limit: String(PAGE) });
    if (state.q) params.set("q", state.q);
    var data;
    try {
      data = await api("documents?" + params);
    } catch (error) {
      if (error.status === 429 && token()) {  // locked out: read the list as a visitor
        sessionStorage.removeItem(KEY);
        $("token-problem").textContent = error.message;
        return load(more);
      }
      $("problem").textContent = "Could not read the list: " + error.message;
      $("summary").textContent = "";
      return;
    }
    $("problem").textContent = "";
    var body = $("list").tBodies[0];
    if (!more) { body.replaceChildren(); state.shown = 0; }
    state.canChange = data.can_change;
    if (token() && !data.can_change) sessionStorage.removeItem(KEY);  // refused: forget it
    state.total = data.total;
    if (!state.q) state.everything = data.total;
    data.documents.forEach(function (d) { body.appendChild(row(d)); });
    state.shown += data.documents.length;
    $("summary").textContent = summary();
    $("more").hidden = state.shown >= state.total;
    $("add").hidden = !state.canChange;
    $("locked").hidden = state.canChange;
  }

  function summary() {
    if (state.q) {
      return state.total === 0 ? "No title contains “" + state.q + "”."
        : plural(state.total, "document") + " with “" + state.q + "” in the title.";
    }
    return state.total === 0 ? "No documents yet." : plural(state.total, "document") + ".";
  }

  function row(d) {
    var link = el("a", { href: "documents/" + encodeURIComponent(d.doc_id) },
                  [d.title || "(untitled)"]);
    var action = "";
    if (state.canChange && d.uploaded) {
      action = el("button", { type: "button", "class": "delete",
                              "aria-label": "Delete “" + (d.title || d.doc_id) + "”" },
                  ["Delete"]);
      action.addEventListener("click", function () { remove(d, action); });
    } else if (state.canChange) {
      action = el("span", { "class": "muted",
                            title: "Indexed from a folder on the server: remove the file there " +
                                   "and run qa index --prune" }, ["from a folder"]);
    }
    return el("tr", {}, [el("td", {}, [link]), el("td", { "class": "date" }, [d.date || "no date"]),
                         el("td", { "class": "source" }, [d.source || "—"]),
                         el("td", { "class": "num" }, [String(d.passages)]),
                         el("td", {}, action ? [action] : [])]);
  }

  async function remove(d, button) {
    if (!window.confirm("Delete “" + d.title + "” from the collection and the server?")) return;
    button.disabled = true;
    try {
      await api("documents/" + encodeURIComponent(d.doc_id),
                { method: "DELETE", headers: auth() });
      await load(false);
    } catch (error) {
      button.disabled = false;
      $("problem").textContent = "Could not delete “" + d.title + "”: " + error.message;
    }
  }

  function upload(file) {
    var bar = el("progress", { max: "100", value: "0", "aria-label": "Uploading " + file.name });
    var said = el("span", { "class": "said" }, ["Uploading…"]);
    var item = el("li", {}, [el("span", { "class": "name" }, [file.name]), bar, said]);
    $("uploads").appendChild(item);
    return new Promise(function (resolve) {
      var xhr = new XMLHttpRequest();
      xhr.open("POST", API + "documents");
      if (token()) xhr.setRequestHeader("Authorization", "Bearer " + token());
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable) bar.value = Math.round(100 * e.loaded / e.total);
      };
      xhr.upload.onload = function () {
        bar.value = 100;
        said.textContent = "Indexing…";
      };
      xhr.onload = function () {
        var data = {};
        try { data = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
        if (xhr.status === 201) {
          item.className = "done";
          said.textContent = "Added: the collection now has " +
            plural(data.index.documents, "document") + ".";
        } else {
          item.className = "failed";
          said.textContent = "Not added: " + (data.message || "the server answered " +
                                              xhr.status);
        }
        resolve();
      };
      xhr.onerror = function () {
        item.className = "failed";
        said.textContent = "Not added: the server could not be reached.";
        resolve();
      };
      var form = new FormData();
      form.append("file", file);
      xhr.send(form);
    });
  }

  async function uploadAll(list) {
    for (var i = 0; i < list.length; i++) await upload(list[i]);
    await load(false);
  }

  var drop = $("drop");
  ["dragenter", "dragover"].forEach(function (type) {
    drop.addEventListener(type, function (e) { e.preventDefault(); drop.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (type) {
    drop.addEventListener(type, function () { drop.classList.remove("over"); });
  });
  drop.addEventListener("drop", function (e) {
    e.preventDefault();
    if (e.dataTransfer && e.dataTransfer.files.length) uploadAll(e.dataTransfer.files);
  });
  $("files").addEventListener("change", function () {
    if (this.files.length) uploadAll(this.files).then(function () { $("files").value = ""; });
  });

  var timer = null;
  $("search").addEventListener("input", function () {
    clearTimeout(timer);
    var value = this.value.trim();
    timer = setTimeout(function () { state.q = value; load(false); }, 250);
  });
  $("more").addEventListener("click", function () { load(true); });
  $("token-form").addEventListener("submit", async function (e) {
    e.preventDefault();
    sessionStorage.setItem(KEY, $("token").value.trim());
    $("token-problem").textContent = "";
    await load(false);
    if (state.canChange || !$("token-problem").textContent) {
      $("token-problem").textContent = state.canChange ? ""
        : "That token was not accepted (or changes over HTTP are off on this server).";
    }
    if (state.canChange) $("files").focus();
  });

  load(false);
})();
