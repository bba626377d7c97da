/*
 * reqprof's HTML report: three views of the report embedded in the page
 * (#reqprof-report, the JSON report itself) with what only the C side
 * knows (#reqprof-view: which objects are system libraries, which frames
 * are shared between requests, the names shown shortened, and the shares
 * the text view folds and cuts at and reqprof ls marks at).
 *
 * All three views draw one "view tree" built from the report's tree: the
 * same nodes, except that runs of library frames become one fold node
 * when "Fold library frames" is on, by the text view's rule
 * (renderers/render_text.c): a library frame that calls another starts a
 * fold, which takes in every library frame below it, and shows the first
 * frame that is not one on each path out; a library frame holding
 * fold_keep of the request itself is never folded. A fold clicked open
 * shows its frames.
 *
 * A report of version 6 on says of each node how many of its samples ran
 * on the CPU (cpu_total, cpu_self; report.cpu_samples is null or absent
 * when it does not know): the views hatch in grey the time that waited,
 * and "CPU" counts only the samples that ran, in all three views.
 *
 * Plain JavaScript, no library, no network: the page works from a file.
 */
(function () {
  "use strict";

  const report = JSON.parse(document.getElementById("reqprof-report").textContent);
  const settings = JSON.parse(document.getElementById("reqprof-view").textContent);
  const libraries = new Set(settings.libraries);
  const sharedFrames = new Set(settings.shared_frames);
  /* Function name -> as the views show it, for names with long template
   * arguments or parameters (renderers/function_name.c); the whole name
   * is shown on hover. */
  const shortNames = new Map(settings.short_names || []);
  const interval = report.interval_ms;
  const rootTotal = report.root.total;
  const cpuKnown = report.cpu_samples !== undefined && report.cpu_samples !== null;

  /* What the reader chose. */
  const state = {
    view: "tree",
    unit: "ms",
    measure: "wall", /* or "cpu": only the samples that ran */
    fold: true,
    query: "",
    expanded: new Map(), /* view key -> true/false, where the reader chose */
    unfolded: new Set(), /* ids of library frames shown out of their fold */
    flameFocus: null,    /* key of the view node the flame graph zooms to */
  };

  /* Nodes by id: their order in the JSON, which the timeline refers to. */
  const nodes = [];
  (function number(node, parent) {
    node.id = nodes.length;
    node.parent = parent;
    nodes.push(node);
    for (const child of node.children) number(child, node);
  })(report.root, null);

  /* ---- Formatting ---- */

  function formatMs(ms) {
    if (ms >= 100) return ms.toFixed(0) + " ms";
    if (ms >= 10) return ms.toFixed(1) + " ms";
    return ms.toFixed(2) + " ms";
  }

  /* A view node's samples as the reader counts them: all, or those that
   * ran on the CPU. */
  function amount(view) {
    return state.measure === "cpu" ? view.cpu : view.total;
  }

  /* Whether most of a view node's samples waited: drawn hatched. */
  function waited(view) {
    return cpuKnown && view.total > 0 && 2 * view.cpu < view.total;
  }

  function share(samples) {
    const whole = state.measure === "cpu" ? report.root.cpu_total : rootTotal;
    return whole > 0 ? samples / whole : 0;
  }

  /* A node's time as the reader asked: ms, or % of the request. */
  function formatTime(samples) {
    if (state.unit === "percent") return (100 * share(samples)).toFixed(1) + "%";
    return (samples * interval).toFixed(1);
  }

  /* The text view's colours: red, yellow, green, dim by share. */
  function heat(samples) {
    const s = share(samples);
    if (s >= 0.6) return "hot";
    if (s >= 0.2) return "warm";
    if (s >= 0.05) return "mild";
    return "cold";
  }

  function location(node) {
    if (node.file !== null) {
      const short = node.file.length > 40 ? node.file.slice(node.file.lastIndexOf("/") + 1) : node.file;
      return node.line !== null ? short + ":" + node.line : short;
    }
    return node.object !== null ? node.object : "";
  }

  function element(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  /* text, with the search query marked wherever it occurs. */
  function highlighted(text) {
    const fragment = document.createDocumentFragment();
    const query = state.query.toLowerCase();
    if (!query) {
      fragment.append(text);
      return fragment;
    }
    const lower = text.toLowerCase();
    let at = 0;
    for (let found; (found = lower.indexOf(query, at)) >= 0; at = found + query.length) {
      fragment.append(text.slice(at, found), element("mark", "", text.slice(found, found + query.length)));
    }
    fragment.append(text.slice(at));
    return fragment;
  }

  /* ---- The view tree ---- */

  function isLibrary(node) {
    return node.object !== null && libraries.has(node.object);
  }

  /* Work the bytes could not tell apart between several requests, split
   * evenly between them: "[shared: N requests]" (renderers/shared.c). */
  function isShared(view) {
    return view.kind === "node" && view.node.object === null && sharedFrames.has(view.node.function);
  }

  /* A call the compiler inlined: its own frame, in its caller's code. */
  function isInlined(view) {
    return view.kind === "node" && view.node.inlined === true;
  }

  const INLINED_MEANING = "The compiler inlined this call: its code is part of its caller's, " +
    "and the debug information says which instructions were this function's.";

  const SHARED_MEANING = "The bytes could not tell which of N requests this work was for, " +
    "so its samples are split evenly between them: it is not this request's alone.";

  function isHidden(node) {
    return state.fold && isLibrary(node) && !state.unfolded.has(node.id) &&
      node.self < settings.fold_keep * rootTotal;
  }

  function startsFold(node) {
    return isHidden(node) && node.children.some(isHidden);
  }

  /* Heaviest first; among equals [self] last, the rest as they were. */
  function byTotal(a, b) {
    return amount(b) - amount(a) || (a.kind === "self") - (b.kind === "self");
  }

  /* The view node of each report node (a fold for the frames it hides). */
  let viewOf = [];

  function buildView(node, parent) {
    /* A fold starts at node: its subtree's counts are the fold's. */
    const view = { node, parent, total: node.total, cpu: cpuKnown ? node.cpu_total : 0, children: [] };
    if (startsFold(node)) {
      Object.assign(view, { kind: "fold", key: "f" + node.id, self: 0, cpuSelf: 0, members: [], objects: [] });
      const gather = (member) => {
        view.members.push(member);
        viewOf[member.id] = view;
        view.self += member.self;
        view.cpuSelf += cpuKnown ? member.cpu_self : 0;
        if (!view.objects.includes(member.object)) view.objects.push(member.object);
        for (const child of member.children) {
          if (isHidden(child)) gather(child);
          else view.children.push(buildView(child, view));
        }
      };
      gather(node);
    } else {
      Object.assign(view, { kind: "node", key: "n" + node.id, self: node.self,
                            cpuSelf: cpuKnown ? node.cpu_self : 0 });
      viewOf[node.id] = view;
      for (const child of node.children) view.children.push(buildView(child, view));
    }
    if (view.self > 0 && view.children.length > 0) {
      view.children.push({ kind: "self", key: "s" + view.key, parent: view, total: view.self,
                           cpu: view.cpuSelf, children: [] });
    }
    view.children.sort(byTotal);
    return view;
  }

  let viewRoot;

  function rebuild() {
    viewOf = [];
    viewRoot = buildView(report.root, null);
  }

  function viewName(view) {
    if (view.kind === "self") return "[self]";
    if (view.kind === "fold") return "[" + view.members.length + " frames hidden] " + view.objects.join(", ");
    if (view.node === report.root) return "[request] " + report.request.method + " " + report.request.path;
    return shortNames.get(view.node.function) || view.node.function;
  }

  /* The whole name of a node whose name is shown shortened, or null. */
  function fullName(view) {
    return view.kind === "node" && shortNames.has(view.node.function) ? view.node.function : null;
  }

  function matches(view) {
    if (!state.query || view.kind === "self") return false;
    const query = state.query.toLowerCase();
    const functions = view.kind === "fold" ? view.members : [view.node];
    return functions.some((node) => node !== report.root && node.function.toLowerCase().includes(query));
  }

  /* Keys of the view nodes on the way to a match: opened while searching. */
  let searchPath = new Set();
  let matchCount = 0;

  function search() {
    searchPath = new Set();
    matchCount = 0;
    let samples = 0;
    const walk = (view, insideMatch) => {
      let found = false;
      const isMatch = matches(view);
      if (isMatch) {
        matchCount++;
        if (!insideMatch) samples += amount(view);
      }
      for (const child of view.children) {
        if (walk(child, insideMatch || isMatch)) found = true;
      }
      if (found) searchPath.add(view.key);
      return found || isMatch;
    };
    if (state.query) walk(viewRoot, false);
    const result = document.getElementById("search-result");
    result.textContent = !state.query ? "" : matchCount === 0 ? "no match"
      : matchCount + (matchCount === 1 ? " match, " : " matches, ") +
        formatMs(samples * interval) + " (" + (100 * share(samples)).toFixed(1) + "%)";
  }

  /* ---- Call tree ---- */

  function isExpanded(view) {
    if (state.expanded.has(view.key)) return state.expanded.get(view.key);
    if (searchPath.has(view.key)) return true;
    /* Open what holds a tenth of the request: the heavy paths show. */
    return share(amount(view)) >= 0.1;
  }

  function treeRow(view, depth) {
    const row = element("div", "row " + view.kind);
    row.setAttribute("role", "treeitem");
    row.dataset.key = view.key;
    if (view.kind === "node" && view.node !== report.root) {
      row.dataset.function = view.node.function;
      if (isLibrary(view.node)) row.classList.add("library");
      if (isShared(view)) {
        row.classList.add("shared");
        row.title = SHARED_MEANING;
      }
      if (fullName(view)) row.title = fullName(view);
    }
    if (matches(view)) row.classList.add("match");
    if (waited(view)) row.classList.add("waited");
    const bar = element("span", "share-bar");
    bar.style.width = (100 * share(amount(view))).toFixed(2) + "%";
    row.append(bar);
    if (cpuKnown && state.measure === "wall" && view.cpu < view.total) {
      /* The part of the bar that waited, after the part that ran. */
      const rest = element("span", "share-bar waited");
      rest.style.left = (100 * share(view.cpu)).toFixed(2) + "%";
      rest.style.width = (100 * share(view.total - view.cpu)).toFixed(2) + "%";
      row.append(rest);
    }
    const indent = element("span", "indent");
    indent.style.width = depth * 18 + "px";
    row.append(indent);
    const toggle = element("span", "toggle");
    if (view.children.length > 0) {
      toggle.textContent = isExpanded(view) ? "▾" : "▸";
      row.setAttribute("aria-expanded", isExpanded(view));
    }
    row.append(toggle, element("span", "time " + heat(amount(view)), formatTime(amount(view))));
    const name = element("span", "name");
    name.append(highlighted(viewName(view)));
    row.append(name);
    if (isInlined(view)) {
      const mark = element("span", "inlined-mark", "inlined");
      mark.title = INLINED_MEANING;
      row.append(mark);
    }
    if (view.kind === "node" && view.node !== report.root) row.append(element("span", "location", location(view.node)));
    return row;
  }

  function drawTree() {
    const tree = document.getElementById("tree");
    const fragment = document.createDocumentFragment();
    const add = (view, depth) => {
      fragment.append(treeRow(view, depth));
      if (view.children.length > 0 && isExpanded(view)) {
        for (const child of view.children) add(child, depth + 1);
      }
    };
    add(viewRoot, 0);
    tree.replaceChildren(fragment);
  }

  function findView(key) {
    const find = (view) => {
      if (view.key === key) return view;
      for (const child of view.children) {
        const found = find(child);
        if (found) return found;
      }
      return null;
    };
    return find(viewRoot);
  }

  document.getElementById("tree").addEventListener("click", (event) => {
    const row = event.target.closest(".row");
    if (!row) return;
    const view = findView(row.dataset.key);
    if (!view) return;
    if (view.kind === "fold" && event.target.closest(".name")) {
      /* Open the fold: its frames show as they are. */
      for (const member of view.members) state.unfolded.add(member.id);
      state.expanded.set("n" + view.node.id, true);
      rebuild();
      search();
    } else if (view.children.length > 0) {
      state.expanded.set(view.key, !isExpanded(view));
    }
    draw();
  });

  /* ---- Flame graph ---- */

  const CELL_HEIGHT = 20;

  /* A stable colour per function: warm for the server, grey for
   * libraries, lavender for folds, as in most flame graphs. */
  function colour(view) {
    if (view.kind === "fold") return "hsl(250, 45%, 82%)";
    if (isShared(view)) return "hsl(45, 20%, 80%)";
    if (view.node === report.root) return "hsl(220, 15%, 84%)";
    let hash = 0;
    for (const c of view.node.function) hash = (hash * 31 + c.charCodeAt(0)) | 0;
    const spread = Math.abs(hash % 1000) / 1000;
    if (isLibrary(view.node)) return "hsl(210, 12%, " + (72 + 12 * spread).toFixed(0) + "%)";
    return "hsl(" + (8 + 44 * spread).toFixed(0) + ", 85%, " + (62 + 10 * spread).toFixed(0) + "%)";
  }

  function drawFlame() {
    const flame = document.getElementById("flame");
    const width = flame.clientWidth;
    let focus = (state.flameFocus && findView(state.flameFocus)) || viewRoot;
    const cells = document.createDocumentFragment();
    let maxDepth = 0;
    const cell = (view, depth, x, w) => {
      maxDepth = Math.max(maxDepth, depth);
      const div = element("div", "cell");
      div.style.left = x + "px";
      div.style.width = Math.max(w, 1) + "px";
      div.style.top = depth * CELL_HEIGHT + "px";
      div.style.backgroundColor = colour(view);
      if (isShared(view)) div.classList.add("shared");
      if (isInlined(view)) div.classList.add("inlined");
      if (state.measure === "wall" && waited(view)) div.classList.add("waited");
      div.dataset.key = view.key;
      if (view.kind === "node" && view.node !== report.root) div.dataset.function = view.node.function;
      if (state.query) div.classList.add(matches(view) ? "match" : "dimmed");
      if (w > 24) div.append(highlighted(viewName(view)));
      cells.append(div);
    };
    /* The focus's ancestors span the width above it. */
    const ancestors = [];
    for (let v = focus.parent; v; v = v.parent) ancestors.unshift(v);
    ancestors.forEach((view, depth) => cell(view, depth, 0, width));
    const layout = (view, depth, x, w) => {
      cell(view, depth, x, w);
      const scale = amount(view) > 0 ? w / amount(view) : 0;
      let at = x;
      for (const child of view.children) {
        const childWidth = amount(child) * scale;
        if (child.kind !== "self" && childWidth >= 0.5) layout(child, depth + 1, at, childWidth);
        at += childWidth;
      }
    };
    layout(focus, ancestors.length, 0, width);
    flame.style.height = (maxDepth + 1) * CELL_HEIGHT + "px";
    flame.replaceChildren(cells);

    const crumbs = document.getElementById("flame-crumbs");
    crumbs.replaceChildren();
    if (focus !== viewRoot) {
      const reset = element("button", "", "↺ whole request");
      reset.addEventListener("click", () => { state.flameFocus = null; drawFlame(); });
      crumbs.append("Zoomed to ", element("b", "", viewName(focus)), " ", reset);
    }
  }

  document.getElementById("flame").addEventListener("click", (event) => {
    const cell = event.target.closest(".cell");
    if (!cell) return;
    state.flameFocus = cell.dataset.key === viewRoot.key ? null : cell.dataset.key;
    drawFlame();
  });

  /* ---- Timeline ---- */

  const LANE_HEIGHT = 18;
  let lanes = [];       /* by depth: runs {view, start, end, weight, cpu} in
                         * ms and samples, in order */
  let timelineEnd = 0;  /* ms the timeline spans */

  /* Runs of samples in the same frame at each depth: a flame chart. */
  function layoutTimeline() {
    lanes = [];
    timelineEnd = report.request.duration_ms;
    const points = report.timeline || [];
    for (const [us, id, weight, cpu] of points) {
      const end = us / 1000;
      const start = Math.max(0, end - weight * interval);
      timelineEnd = Math.max(timelineEnd, end);
      const stack = [];
      for (let v = viewOf[id]; v && v !== viewRoot; v = v.parent) stack.unshift(v);
      stack.forEach((view, depth) => {
        const lane = lanes[depth] || (lanes[depth] = []);
        const last = lane[lane.length - 1];
        /* Neighbouring samples in the same frame make one run; a signal
         * comes a little after its tick, so allow an interval between. */
        if (last && last.view === view && start <= last.end + interval) {
          last.end = end;
          last.weight += weight;
          last.cpu += cpu || 0;
        } else {
          lane.push({ view, start, end, weight, cpu: cpu || 0 });
        }
      });
    }
  }

  /* The canvas's hatching for time that waited, as the stylesheet's. */
  function waitedPattern(context) {
    const tile = document.createElement("canvas");
    tile.width = tile.height = 6;
    const pen = tile.getContext("2d");
    pen.fillStyle = "#e6e8ec";
    pen.fillRect(0, 0, 6, 6);
    pen.strokeStyle = "#a9afba";
    pen.lineWidth = 2;
    pen.beginPath();
    pen.moveTo(0, 6);
    pen.lineTo(6, 0);
    pen.stroke();
    return context.createPattern(tile, "repeat");
  }

  function niceStep(span) {
    const raw = span / 8;
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
    return 10 * power;
  }

  function drawTimeline() {
    const canvas = document.getElementById("timeline");
    const note = document.getElementById("timeline-note");
    const axis = document.getElementById("timeline-axis");
    if (!report.timeline || report.timeline.length === 0) {
      canvas.hidden = true;
      axis.replaceChildren();
      note.textContent = report.requests > 1
        ? "A merge of " + report.requests + " requests has no timeline: each request's report has its own."
        : "This report has no timeline: it was written without the time of each sample.";
      return;
    }
    canvas.hidden = false;
    layoutTimeline();
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.parentElement.clientWidth;
    const height = Math.max(1, lanes.length) * LANE_HEIGHT;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    canvas.style.height = height + "px";
    const context = canvas.getContext("2d");
    context.scale(ratio, ratio);
    context.font = "11px ui-monospace, Menlo, Consolas, monospace";
    context.textBaseline = "middle";
    const scale = width / Math.max(timelineEnd, interval);
    const hatch = waitedPattern(context);
    lanes.forEach((lane, depth) => {
      for (const run of lane) {
        const x = run.start * scale;
        const w = Math.max(1, (run.end - run.start) * scale);
        const y = depth * LANE_HEIGHT;
        /* A run that mostly waited: hatched grey, or faded out when only
         * the CPU counts. */
        const runWaited = cpuKnown && 2 * run.cpu < run.weight;
        const faded = (state.query && !matches(run.view)) || (runWaited && state.measure === "cpu");
        context.globalAlpha = faded ? 0.25 : 1;
        context.fillStyle = state.query && matches(run.view) ? "#e879f9"
          : runWaited ? hatch : colour(run.view);
        context.fillRect(x, y + 1, w - (w > 2 ? 1 : 0), LANE_HEIGHT - 2);
        if (w > 30) {
          context.fillStyle = "#1d1f23";
          context.save();
          context.beginPath();
          context.rect(x, y, w - 2, LANE_HEIGHT);
          context.clip();
          context.fillText(viewName(run.view), x + 3, y + LANE_HEIGHT / 2);
          context.restore();
        }
      }
    });
    context.globalAlpha = 1;
    const ticks = document.createDocumentFragment();
    const step = niceStep(timelineEnd);
    /* Labels centre on their tick, but the first and last stay inside. */
    for (let t = 0; t <= timelineEnd + 1e-9; t += step) {
      const tick = element("span", "", t.toFixed(step < 1 ? 1 : 0) + " ms");
      tick.style.left = (t * scale).toFixed(1) + "px";
      if (t === 0) tick.classList.add("first");
      else if ((t + step) * scale > width) tick.classList.add("last");
      ticks.append(tick);
    }
    axis.replaceChildren(ticks);
    const points = report.timeline.length;
    note.textContent = points + " points over " + formatMs(timelineEnd) +
      ": each lane is one depth of the stack, left to right in time. Hover for details.";
  }

  /* The run under a point of the canvas, or null. */
  function runAt(canvas, clientX, clientY) {
    const box = canvas.getBoundingClientRect();
    const lane = lanes[Math.floor((clientY - box.top) / LANE_HEIGHT)];
    if (!lane) return null;
    const ms = (clientX - box.left) / box.width * Math.max(timelineEnd, interval);
    return lane.find((run) => run.start <= ms && ms <= run.end) || null;
  }

  /* ---- Tooltip ---- */

  const tooltip = document.getElementById("tooltip");

  function showTooltip(event, lines) {
    tooltip.replaceChildren(...lines);
    tooltip.hidden = false;
    const x = Math.min(event.clientX + 14, window.innerWidth - tooltip.offsetWidth - 8);
    const y = event.clientY + 16 + tooltip.offsetHeight > window.innerHeight
      ? event.clientY - tooltip.offsetHeight - 10 : event.clientY + 16;
    tooltip.style.left = x + "px";
    tooltip.style.top = y + "px";
  }

  function describe(view) {
    const lines = [element("b", "", fullName(view) || viewName(view))];
    if (view.kind === "node" && view.node !== report.root && location(view.node)) {
      lines.push(element("div", "dim", location(view.node)));
    }
    const whole = state.measure === "cpu" ? "% of the request's CPU" : "% of the request";
    lines.push(element("div", "", formatMs(amount(view) * interval) + ", " +
      (100 * share(amount(view))).toFixed(1) + whole +
      (view.self > 0 ? "; " + formatMs(view.self * interval) + " in itself" : "")));
    if (cpuKnown) {
      lines.push(element("div", "dim", formatMs(view.cpu * interval) + " on the CPU, " +
        formatMs((view.total - view.cpu) * interval) + " waiting"));
    }
    if (isShared(view)) lines.push(element("div", "dim", SHARED_MEANING));
    if (isInlined(view)) lines.push(element("div", "dim", INLINED_MEANING));
    return lines;
  }

  document.getElementById("flame").addEventListener("mousemove", (event) => {
    const cell = event.target.closest(".cell");
    const view = cell && findView(cell.dataset.key);
    if (view) showTooltip(event, describe(view));
    else tooltip.hidden = true;
  });

  document.getElementById("timeline").addEventListener("mousemove", (event) => {
    const run = runAt(event.currentTarget, event.clientX, event.clientY);
    if (!run) {
      tooltip.hidden = true;
      return;
    }
    const lines = describe(run.view);
    lines.push(element("div", "dim", "here from " + formatMs(run.start) + " to " + formatMs(run.end) +
      " (" + formatMs(run.end - run.start) + ")"));
    showTooltip(event, lines);
  });

  for (const id of ["flame", "timeline"]) {
    document.getElementById(id).addEventListener("mouseleave", () => { tooltip.hidden = true; });
  }

  /* ---- Header ---- */

  /* The line that says how much of the report is shared, when some is. */
  function drawAttribution() {
    const attribution = report.attribution;
    if (!attribution) return;
    const line = document.getElementById("attribution");
    line.append(element("strong", "", formatMs(attribution.shared_samples * interval) + " (" +
      (100 * attribution.shared_fraction).toFixed(1) + "%) shared"),
      " under [shared: N requests]. " + SHARED_MEANING);
    line.classList.toggle("marked", attribution.shared_fraction > settings.shared_mark);
    line.hidden = false;
  }

  /* Bytes as people count them, as the text view says them. */
  function formatBytes(bytes) {
    if (bytes < 1000) return bytes + (bytes === 1 ? " byte" : " bytes");
    if (bytes < 1000000) return (bytes / 1e3).toFixed(1) + " kB";
    return (bytes / 1e6).toFixed(1) + " MB";
  }

  /* What the request waited on, a line per peer and kind of call, as the
   * text view says it (renderers/waits.c). */
  function drawWaits() {
    const waits = report.waits;
    if (!waits || waits.length === 0) return;
    const list = document.getElementById("waits");
    for (const wait of waits) {
      const calls = wait.calls + " " + wait.kind + (wait.calls === 1 ? "" : "s");
      const line = element("div");
      line.append("waited ", element("strong", "", wait.ms.toFixed(1) + " ms"), " on ",
        element("strong", "", wait.peer),
        " (" + calls + (wait.kind === "connect" ? "" : ", " + formatBytes(wait.bytes)) + ")");
      list.append(line);
    }
    list.hidden = false;
  }

  function drawHeader() {
    const request = report.request;
    const merged = report.requests > 1;
    document.getElementById("request-method").textContent = request.method || "*";
    document.getElementById("request-path").textContent = request.path;
    const status = document.getElementById("request-status");
    status.textContent = request.status || (merged ? "several" : "no response");
    status.classList.add(request.status >= 500 ? "server-error" : request.status >= 400 ? "client-error"
      : request.status >= 300 ? "redirect" : request.status >= 200 ? "ok" : "none");
    document.getElementById("request-duration").textContent = formatMs(request.duration_ms);
    const facts = [
      ["Recorded", new Date(request.start_unix_us / 1000).toLocaleString()],
      ["Duration", formatMs(request.duration_ms) + (merged ? " in all" : "")],
      ["CPU time", (request.cpu_ms === null ? "not measured (no sample)"
                                            : formatMs(request.cpu_ms)) +
        (cpuKnown ? " (" + report.cpu_samples + " of the samples ran, " +
          (report.samples - report.cpu_samples) + " waited)" : "")],
      ["Samples", report.samples + " (every " + interval + " ms" +
        (report.samples_dropped > 0 ? ", " + report.samples_dropped + " dropped" : "") + ")"],
      ["Program", (report.process.program || "several") +
        (report.process.pid ? " (pid " + report.process.pid + ")" : "")],
      ["Bytes", request.request_bytes + " in, " + request.response_bytes + " out"],
    ];
    if (merged) facts.unshift(["Merged", report.requests + " requests"]);
    const list = document.getElementById("facts");
    for (const [term, value] of facts) {
      const item = element("div");
      item.append(element("dt", "", term), element("dd", "", value));
      list.append(item);
    }
    document.title = (request.method || "*") + " " + request.path + " → " +
      (request.status || "-") + " · " + formatMs(request.duration_ms) + " · reqprof";
  }

  /* ---- Controls ---- */

  function draw() {
    if (state.view === "tree") drawTree();
    else if (state.view === "flame") drawFlame();
    else drawTimeline();
  }

  for (const tab of document.querySelectorAll(".tab")) {
    tab.addEventListener("click", () => {
      state.view = tab.dataset.view;
      for (const other of document.querySelectorAll(".tab")) {
        other.setAttribute("aria-selected", other === tab);
      }
      for (const view of ["tree", "flame", "timeline"]) {
        document.getElementById("view-" + view).hidden = view !== state.view;
      }
      draw();
    });
  }

  document.getElementById("measure").hidden = !cpuKnown;
  for (const button of document.querySelectorAll(".measure")) {
    button.addEventListener("click", () => {
      state.measure = button.dataset.measure;
      for (const other of document.querySelectorAll(".measure")) {
        other.setAttribute("aria-pressed", other === button);
      }
      state.flameFocus = null;
      rebuild();
      search();
      draw();
    });
  }

  for (const button of document.querySelectorAll(".unit")) {
    button.addEventListener("click", () => {
      state.unit = button.dataset.unit;
      for (const other of document.querySelectorAll(".unit")) {
        other.setAttribute("aria-pressed", other === button);
      }
      draw();
    });
  }

  document.getElementById("fold").addEventListener("change", (event) => {
    state.fold = event.target.checked;
    state.unfolded.clear();
    state.flameFocus = null;
    rebuild();
    search();
    draw();
  });

  const searchBox = document.getElementById("search");
  searchBox.addEventListener("input", () => {
    state.query = searchBox.value.trim();
    search();
    draw();
  });

  document.addEventListener("keydown", (event) => {
    if (event.key === "/" && document.activeElement !== searchBox) {
      event.preventDefault();
      searchBox.focus();
    } else if (event.key === "Escape" && document.activeElement === searchBox) {
      searchBox.value = "";
      searchBox.dispatchEvent(new Event("input"));
    }
  });

  let resizeTimer = 0;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(draw, 100);
  });

  drawHeader();
  drawAttribution();
  drawWaits();
  rebuild();
  search();
  draw();
})();
