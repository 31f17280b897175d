// Builds every bench script (bench/*.ts and the worker entry points bench/lib/*-worker.ts)
// with esbuild into dist/bench/, runs them one after another, and writes what they report
// to bench/results/latest.json (merged by bench name). Each bench prints its own table; a
// summary follows.
//
//   node bench/run-all.mjs                 all benches (about 10 minutes on the 2-core machine)
//   node bench/run-all.mjs ingest scan     only bench/ingest.ts and the benches whose name contains "scan"
//   node bench/run-all.mjs --build-only    build, do not run
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';

/** Order of the backbone benches; any other bench/*.ts runs after them, by name. */
const ORDER = ['concurrent-agents', 'ingest', 'outbox-drain', 'reconnect-storm', 'scan-roundtrip'];

const root = new URL('..', import.meta.url).pathname;
const benchDir = join(root, 'bench');
const outDir = join(root, 'dist', 'bench');
const args = process.argv.slice(2);
const buildOnly = args.includes('--build-only');
const filters = args.filter((a) => !a.startsWith('--'));

const scripts = readdirSync(benchDir)
  .filter((n) => n.endsWith('.ts'))
  .map((n) => n.slice(0, -3))
  .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
const workers = readdirSync(join(benchDir, 'lib')).filter((n) => n.endsWith('-worker.ts'));

function rank(name) {
  const i = ORDER.indexOf(name);
  return i < 0 ? ORDER.length : i;
}

const options = {
  outdir: outDir,
  outbase: benchDir,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'error',
};
// The backbone benches and their workers build together; every other bench on its own, so
// one that does not build (yet) does not stop the others.
const backbone = scripts.filter((s) => ORDER.includes(s));
await build({ ...options, entryPoints: [...backbone.map((s) => join(benchDir, `${s}.ts`)), ...workers.map((w) => join(benchDir, 'lib', w))] });
const unbuilt = [];
for (const s of scripts.filter((n) => !ORDER.includes(n))) {
  try {
    await build({ ...options, entryPoints: [join(benchDir, `${s}.ts`)] });
  } catch {
    unbuilt.push(s);
  }
}
if (unbuilt.length) console.error(`not built (see the errors above): ${unbuilt.join(', ')}`);
if (buildOnly) process.exit(0);

// A word that is the name of a bench selects that bench only; any other word, every bench containing it.
const matches = (s, f) => (scripts.includes(f) ? s === f : s.includes(f));
const selected = scripts.filter((s) => !unbuilt.includes(s) && (filters.length === 0 || filters.some((f) => matches(s, f))));
const results = [];
const failures = [];
for (const name of selected) {
  console.log(`\n### ${name}`);
  const { code, lines } = await run(join(outDir, `${name}.mjs`));
  const reported = lines.filter((l) => l.startsWith('BENCH_RESULT ')).map((l) => JSON.parse(l.slice('BENCH_RESULT '.length)));
  results.push(...reported);
  // A bench that prints no BENCH_RESULT line still counts when it exits 0 (its own output is the record).
  if (code !== 0) failures.push(`${name} (exit ${code})`);
}

// Keep the last result of benches not run this time.
const latest = join(benchDir, 'results', 'latest.json');
mkdirSync(dirname(latest), { recursive: true });
const previous = existsSync(latest) ? JSON.parse(readFileSync(latest, 'utf8')).filter((r) => !results.some((n) => n.bench === r.bench)) : [];
writeFileSync(latest, `${JSON.stringify([...previous, ...results], null, 2)}\n`);

console.log('\n### summary');
for (const r of results) {
  for (const row of r.rows) console.log(`${r.bench.padEnd(18)} ${row.figure.padEnd(40)} ${row.value.padEnd(40)} baseline ${row.baseline}  target ${row.target}${row.met === false ? '  NOT MET' : ''}`);
}
if (failures.length || unbuilt.length) {
  failures.push(...unbuilt.map((u) => `${u} (not built)`));
  console.error(`\nfailed: ${failures.join(', ')}`);
  process.exit(1);
}

/** Run one bench bundle, echoing its output, and keep its stdout lines. */
function run(file) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines = [];
    let rest = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      const text = rest + chunk.toString();
      const parts = text.split('\n');
      rest = parts.pop() ?? '';
      lines.push(...parts);
    });
    child.on('close', (code) => {
      if (rest) lines.push(rest);
      resolve({ code, lines });
    });
  });
}
