"use strict";
// The gallery page: one split, a page of thumbnails at a time (see imagesets/gallery).
const state = { page: 0, per: 60, filter: "", info: null };
const $ = (id) => document.getElementById(id);

function text(tag, value) { const el = document.createElement(tag); el.textContent = value; return el; }

async function getJSON(url) {
  const answer = await fetch(url);
  const data = await answer.json();
  if (!answer.ok) throw new Error(data.error);
  return data;
}

function caption(item) {
  const i = state.info;
  if (item.label === undefined) return `${i.split} [${item.index}]`;
  const named = item.name !== String(item.label) ? ` (${item.name})` : "";
  return `${i.split} label [${item.index}] = ${item.label}${named}`;
}

function zoom(item) {
  $("zoomimg").src = `/img/${item.index}.png?zoom=1`;
  $("zoomcap").textContent = caption(item);
  $("zoom").hidden = false;
}

async function showPage() {
  const query = `page=${state.page}&per=${state.per}` + (state.filter ? `&${state.filter}` : "");
  const data = await getJSON(`/api/page?${query}`);
  state.page = data.page;
  $("pageinfo").textContent = `page ${data.page + 1} of ${data.pages} (${data.total} images)`;
  const grid = $("grid");
  grid.replaceChildren();
  for (const item of data.items) {
    const fig = document.createElement("figure");
    fig.className = "thumb";
    fig.dataset.index = item.index;
    const img = document.createElement("img");
    img.src = `/img/${item.index}.png`;
    img.alt = caption(item);
    img.title = caption(item);
    fig.append(img, text("figcaption", item.name !== undefined ? item.name : String(item.index)));
    fig.addEventListener("click", () => zoom(item));
    grid.append(fig);
  }
  return data;
}

function fillFilter(info) {
  const select = $("filter");
  const option = (value, label) => { const o = text("option", label); o.value = value; return o; };
  const counted = (c) => `${c} ${info.classes[c]} (${info.counts[c] ?? 0})`;
  if (!info.labelled) { select.disabled = true; return; }
  if (info.superclasses.length) {
    info.superclasses.forEach((name, s) => {
      const group = document.createElement("optgroup");
      group.label = name;
      group.append(option(`coarse=${s}`, `all of ${name}`));
      info.fine_to_coarse.forEach((parent, c) => { if (parent === s) group.append(option(`label=${c}`, counted(c))); });
      select.append(group);
    });
  } else {
    info.classes.forEach((_, c) => select.append(option(`label=${c}`, counted(c))));
  }
}

function fillSide(info) {
  const stats = $("stats");
  stats.append(text("h3", "statistics"));
  if (info.stats) {
    stats.append(text("p", `mean ${info.stats.mean.map((v) => v.toFixed(4)).join(", ")}`));
    stats.append(text("p", `std ${info.stats.std.map((v) => v.toFixed(4)).join(", ")}`));
  }
  const most = Math.max(1, ...info.counts);
  info.counts.forEach((n, c) => {
    const row = text("div", ` ${info.classes[c] ?? c}: ${n}`);
    const bar = document.createElement("span");
    bar.className = "bar";
    bar.style.width = `${Math.round(100 * n / most)}px`;
    row.prepend(bar);
    stats.append(row);
  });
  const skipped = $("skipped");
  skipped.append(text("h3", `skipped files (${info.skipped.length})`));
  for (const row of info.skipped) skipped.append(text("div", `${row.path}: ${row.reason}`));
}

async function main() {
  const info = await getJSON("/api/info");
  state.info = info;
  $("title").textContent = `${info.dataset} ${info.split} (${info.count} images)`;
  fillFilter(info);
  fillSide(info);
  $("filter").addEventListener("change", (e) => { state.filter = e.target.value; state.page = 0; showPage(); });
  $("prev").addEventListener("click", () => { if (state.page > 0) { state.page -= 1; showPage(); } });
  $("next").addEventListener("click", () => { state.page += 1; showPage().catch(() => { state.page -= 1; }); });
  $("jump").addEventListener("change", (e) => {
    const index = Number(e.target.value);
    if (!Number.isInteger(index) || index < 0 || index >= info.count) return;
    state.filter = ""; $("filter").value = ""; state.page = Math.floor(index / state.per);
    showPage().then((data) => zoom(data.items.find((item) => item.index === index)));
  });
  $("zoom").addEventListener("click", () => { $("zoom").hidden = true; });
  await showPage();
}

main();
