// Benchmark: what a hidden tab's timer throttling does to Sotto in Chromium
// (scripts/bench; docs/BENCHMARKS.md records the figures).
//
// Alice's messenger runs in a tab of one window, Bob's in another window. Bob sends texts
// to Alice while her tab is (1) in front, (2) hidden behind another tab of its window, and
// (3) hidden for longer than the grace period after which Chromium throttles a hidden
// page's timers intensively (once a minute; the grace period is 5 minutes in Chromium, cut
// here by a flag so that the run stays short; phase 2 ends before it). In each phase it
// measures, in Alice's tab:
// - a 100 ms timer chain on the page's main thread, and one in a dedicated worker, where
//   the SDK runs (its cover traffic and background work wait on such timers);
// - how long Bob's texts take to reach Alice's page (3-hop onion route, real relays).
// The visible phase is the baseline of the hidden ones.
import { launchDevtools, sleep } from "./devtools.mjs";
import { serve, testRelays } from "./chromium.mjs";

const quick = process.env.SOTTO_BENCH_QUICK === "1";
const plan = quick
  ? { seconds: 3, texts: 1, graceSeconds: 5, intensiveSeconds: 3 }
  : { seconds: 20, texts: 5, graceSeconds: 30, intensiveSeconds: 130 };

// The probe put into Alice's page: timer chains on the main thread and in a worker, and
// the moment each of Alice's texts arrives.
const PROBE = `(() => {
  const main = [];
  const tick = () => { main.push(Date.now()); setTimeout(tick, 100); };
  setTimeout(tick, 100);
  const source = "const ticks = []; const tick = () => { ticks.push(Date.now()); setTimeout(tick, 100); };" +
    "setTimeout(tick, 100); onmessage = () => postMessage(ticks);";
  const worker = new Worker(URL.createObjectURL(new Blob([source], { type: "text/javascript" })));
  const arrivals = new Map();
  harness.messenger("alice").onEvent((event) => {
    if (event.type === "messageReceived") arrivals.set(event.text, Date.now());
  });
  window.probe = {
    main,
    worker: () => new Promise((resolve) => {
      worker.onmessage = ({ data }) => resolve(data);
      worker.postMessage(null);
    }),
    arrivals,
  };
  return true;
})()`;

const { server, origin } = await serve(process.cwd());
const devtools = await launchDevtools([
  `--enable-features=IntensiveWakeUpThrottling:grace_period_seconds/${plan.graceSeconds}`,
]);
let phases;
let version;
try {
  version = (await devtools.send("Browser.getVersion")).product;
  // Alice's window: her tab, and a blank tab behind it that hides hers when brought to the
  // front (while hers is the only window, a new tab opens in it). Bob has his own window.
  const alice = await devtools.first();
  const blank = await devtools.open("about:blank", { newWindow: false });
  await alice.navigate(origin);
  await alice.activate();
  const bob = await devtools.open(origin, { newWindow: true });
  for (const tab of [alice, bob]) await tab.until(`document.body?.dataset.ready === "true"`, 30_000);
  const relays = JSON.stringify(testRelays());
  await alice.evaluate(`harness.create("alice", { relays: ${relays}, displayName: "alice" })`);
  await bob.evaluate(`harness.create("bob", { relays: ${relays}, displayName: "bob" })`);
  const link = await alice.evaluate(`harness.messenger("alice").createInvitation()`);
  const contact = await bob.evaluate(`harness.messenger("bob").acceptInvitation(${JSON.stringify(link)})`);
  await bob.until(
    `harness.events("bob").some((e) => e.type === "contactReady" && e.contact === ${JSON.stringify(contact)})`
  );
  await alice.evaluate(PROBE);

  /** Bob sends `texts` texts spread over `seconds`; then the probe's figures for the phase. */
  async function phase(name, seconds) {
    const start = Date.now();
    const latencies = [];
    for (let i = 0; i < plan.texts; i++) {
      const text = `${name} ${i}`;
      const sentAt = await bob.evaluate(`(async () => {
        const at = Date.now();
        await harness.messenger("bob").sendText(${JSON.stringify(contact)}, ${JSON.stringify(text)});
        return at;
      })()`);
      const arrivedAt = await alice.until(`probe.arrivals.get(${JSON.stringify(text)})`);
      latencies.push(arrivedAt - sentAt);
      await sleep(start + ((i + 1) * seconds * 1000) / plan.texts - Date.now());
    }
    await sleep(start + seconds * 1000 - Date.now());
    const end = Date.now();
    const within = `.filter((t) => t >= ${start} && t <= ${end})`;
    return {
      name,
      visibility: await alice.evaluate("document.visibilityState"),
      bobVisibility: await bob.evaluate("document.visibilityState"),
      seconds: (end - start) / 1000,
      main: await alice.evaluate(`probe.main${within}`),
      worker: await alice.evaluate(`probe.worker().then((ticks) => ticks${within})`),
      latencies,
      start,
      end,
    };
  }

  phases = [await phase("visible", plan.seconds)];
  // The blank tab in front of Alice's: her tab is hidden, as in a browser; Bob's window
  // stays as it was.
  await blank.activate();
  const hiddenAt = Date.now();
  phases.push(await phase("hidden", plan.seconds));
  await sleep(hiddenAt + (plan.graceSeconds + 1) * 1000 - Date.now());
  phases.push(await phase(`hidden over ${plan.graceSeconds} s`, plan.intensiveSeconds));
  const front = await alice.evaluate("document.visibilityState");
  if (front !== "hidden") throw new Error(`Alice's tab was not hidden at the end: ${front}`);
  await alice.evaluate(`harness.messenger("alice").shutdown()`);
  await bob.evaluate(`harness.messenger("bob").shutdown()`);
} finally {
  devtools.close();
  server.close();
}

const [visible, hidden] = phases;
if (visible.visibility !== "visible" || hidden.visibility !== "hidden") {
  throw new Error(`Alice's tab was ${visible.visibility}, then ${hidden.visibility}: not what was measured`);
}
if (phases.some((p) => p.bobVisibility !== "visible")) throw new Error("Bob's tab was hidden too");

/** Wakeups per second of a timer chain, and its longest gap (from the phase's start on). */
function timers(ticks, { start, end, seconds }) {
  const edges = [start, ...ticks, end];
  const longest = Math.max(...edges.slice(1).map((t, i) => t - edges[i]));
  return { rate: ticks.length / seconds, longest: longest / 1000 };
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

console.log(
  `A hidden tab in ${version}${quick ? " (quick mode)" : ""}: Bob's tab in front of its own window,` +
    ` Alice's tab hidden behind another; intensive throttling after ${plan.graceSeconds} s hidden` +
    ` (5 minutes without the flag)`
);
const baseline = { main: timers(visible.main, visible).rate, worker: timers(visible.worker, visible).rate };
for (const p of phases) {
  const cells = ["main", "worker"].map((where) => {
    const { rate, longest } = timers(p[where], p);
    const ratio = p === visible ? "" : ` (${(rate / baseline[where]).toFixed(2)}x visible)`;
    return `${where === "main" ? "page" : "worker"} ${rate.toFixed(2).padStart(5)} wakeups/s${ratio}, longest gap ${longest.toFixed(1)} s`;
  });
  console.log(`  ${p.name.padEnd(18)} ${p.seconds.toFixed(0).padStart(4)} s, 100 ms timers:  ${cells.join(";  ")}`);
  console.log(
    `  ${"".padEnd(18)}        texts to Alice: median ${(median(p.latencies) / 1000).toFixed(2)} s,` +
      ` longest ${(Math.max(...p.latencies) / 1000).toFixed(2)} s (${p.latencies.length} sent)`
  );
}
