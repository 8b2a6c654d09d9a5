// The dashboard's one script: actions (buttons with data-post) go to the JSON API, and the
// page's <main> is fetched again and swapped in place after an action, on task events
// (Server-Sent Events from /v1/events) and every 5 s, so nothing needs a reload. A button with
// data-follow opens that path plus the id its reply names (Retry opens the new task). A focused
// link keeps the focus when <main> is swapped, so tables stay usable from the keyboard; a form
// with data-post-form posts its fields as JSON (the enqueue form). A data-bulk button posts the
// picked rows' ids to /v1/bulk/tasks after a confirmation.
'use strict';

(function () {
  const flash = (text, bad) => {
    const el = document.getElementById('flash');
    el.textContent = text;
    el.className = bad ? 'bad' : 'ok';
    clearTimeout(flash.timer);
    flash.timer = setTimeout(() => { el.textContent = ''; el.className = ''; }, 4000);
  };

  let refreshing = false;
  let again = false;
  async function refresh() {
    if (refreshing) { again = true; return; }
    refreshing = true;
    try {
      const res = await fetch(location.href, { headers: { Accept: 'text/html' } });
      if (res.ok) {
        const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
        const fresh = doc.getElementById('main');
        const main = document.getElementById('main');
        const picked = new Set([...document.querySelectorAll('.pick:checked')].map((c) => c.value));
        const focused = document.activeElement && document.activeElement.name;
        const active = document.activeElement;
        // A link reached from the keyboard keeps the focus across the swap.
        const link = active && active.tagName === 'A' && main && main.contains(active) ? active.getAttribute('href') : null;
        const typing = focused && main && main.contains(active) && ['INPUT', 'TEXTAREA', 'SELECT'].includes(active.tagName);
        if (fresh && main && !typing) {
          // What was typed (and an open box) stays: elements marked data-keep keep their state.
          main.querySelectorAll('[data-keep][id]').forEach((el) => {
            const twin = fresh.querySelector(`#${CSS.escape(el.id)}`);
            if (!twin) return;
            if (el.tagName === 'DETAILS') twin.open = el.open; else twin.value = el.value;
          });
          main.replaceWith(fresh);
          fresh.querySelectorAll('.pick').forEach((c) => { c.checked = picked.has(c.value); });
          const refocus = link && [...fresh.querySelectorAll('a')].find((a) => a.getAttribute('href') === link);
          if (refocus) refocus.focus();
          document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || 0) + 1);
        }
      }
    } catch (e) {
      // the server is away for a moment: the next tick tries again
    } finally {
      refreshing = false;
      if (again) { again = false; setTimeout(refresh, 200); }
    }
  }

  // With tokens configured, the login form's cookie holds the token; actions send it as a header.
  function authHeaders() {
    const m = /(?:^|;\s*)stem_token=([^;]*)/.exec(document.cookie);
    return m ? { Authorization: `Bearer ${decodeURIComponent(m[1])}` } : {};
  }

  async function post(path, body) {
    const headers = { 'Content-Type': 'application/json', ...authHeaders() };
    const res = await fetch(path, { method: 'POST', headers, body });
    let reply = null;
    try { reply = await res.json(); } catch (e) { /* not JSON */ }
    if (!res.ok) throw new Error((reply && reply.error && reply.error.message) || res.statusText);
    return reply;
  }

  document.addEventListener('click', async (ev) => {
    const picked = ev.target.closest('[data-replay-picked]');
    if (picked) {
      const boxes = [...document.querySelectorAll('.pick:checked')];
      if (!boxes.length) return flash('select dead letters first', true);
      try {
        for (const b of boxes) {
          await post(`/v1/queues/${encodeURIComponent(b.dataset.queue)}/dead-letters/replay`, JSON.stringify({ id: b.value }));
        }
        flash(`replayed ${boxes.length}`);
      } catch (e) { flash(e.message, true); }
      return refresh();
    }
    const all = ev.target.closest('#pick-all');
    if (all) {
      document.querySelectorAll('.pick').forEach((c) => { c.checked = all.checked; });
      return;
    }
    const bulk = ev.target.closest('[data-bulk]');
    if (bulk) {
      const ids = [...document.querySelectorAll('.pick:checked')].map((c) => c.value);
      if (!ids.length) return flash('select tasks first', true);
      if (!window.confirm(`${bulk.dataset.confirm} (${ids.length} selected)`)) return;
      bulk.disabled = true;
      try {
        const reply = await post('/v1/bulk/tasks', JSON.stringify({ action: bulk.dataset.bulk, ids }));
        const refused = reply.results.filter((r) => !r.ok);
        const why = refused.length ? `; ${refused.length} refused (${refused[0].id}: ${refused[0].error})` : '';
        flash(`${bulk.textContent}: ${reply.done} done${why}`, refused.length > 0);
      } catch (e) { flash(`${bulk.textContent}: ${e.message}`, true); }
      bulk.disabled = false;
      return refresh();
    }
    const button = ev.target.closest('[data-post]');
    if (!button) return;
    if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
    button.disabled = true;
    try {
      const reply = await post(button.dataset.post, button.dataset.body || '{}');
      if (button.dataset.follow && reply && reply.id) {
        location.assign(button.dataset.follow + encodeURIComponent(reply.id));
        return;
      }
      flash(`${button.textContent}: done`);
    } catch (e) {
      flash(`${button.textContent}: ${e.message}`, true);
    }
    button.disabled = false;
    refresh();
  });

  // A form with data-post-form: its fields as a JSON object (data-json fields parsed, empty
  // fields left out) posted to the API; with data-follow, the new task's page opens.
  document.addEventListener('submit', async (ev) => {
    const form = ev.target.closest('form[data-post-form]');
    if (!form) return;
    ev.preventDefault();
    const body = {};
    for (const field of form.querySelectorAll('input[name], textarea[name], select[name]')) {
      const text = field.value.trim();
      if (!text) continue;
      if (field.dataset.json === undefined) { body[field.name] = text; continue; }
      try {
        body[field.name] = JSON.parse(text);
      } catch (e) {
        field.focus();
        return flash(`${field.name}: not JSON (${e.message})`, true);
      }
    }
    try {
      const reply = await post(form.dataset.postForm, JSON.stringify(body));
      if (form.dataset.follow && reply && reply.id) {
        form.reset();
        location.assign(form.dataset.follow + encodeURIComponent(reply.id));
        return;
      }
      flash('done');
    } catch (e) {
      flash(e.message, true);
    }
    refresh();
  });

  let pending = null;
  const soon = () => { if (pending === null) pending = setTimeout(() => { pending = null; refresh(); }, 300); };
  if (window.EventSource) {
    const live = document.getElementById('live');
    const source = new EventSource('/v1/events');
    source.onopen = () => { live.className = 'on'; };
    source.onerror = () => { live.className = 'off'; };
    source.onmessage = soon;
    ['received', 'started', 'succeeded', 'failed', 'retried', 'revoked', 'dead_lettered', 'progress'].forEach(
      (kind) => source.addEventListener(kind, soon));
  }
  setInterval(refresh, 5000);
})();
