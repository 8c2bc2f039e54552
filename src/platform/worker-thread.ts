// Starting a worker thread from a module next to the caller, under tsx (the
// sources run as .ts) or compiled (.js) alike.
import { Worker } from 'node:worker_threads';

/**
 * Starts `./<name>.ts` (or `.js`) relative to `callerUrl` in a worker thread.
 *
 * Under tsx the worker must load TypeScript too. On Node 20 tsx's
 * `--import tsx` registers its hooks on the main thread only, so an inherited
 * execArgv is not enough: the worker registers tsx itself and then imports the
 * entry. The tsx flags are dropped from the worker's execArgv so that Node
 * versions where they do apply in workers do not register twice, and so are
 * V8 heap sizes, which a worker refuses there.
 */
export function startModuleWorker(callerUrl: string, name: string): Worker {
  if (!callerUrl.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, callerUrl));
  const entry = new URL(`./${name}.ts`, callerUrl).href;
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap =
    `import(${JSON.stringify(tsxApi)})` +
    `.then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true, execArgv: withoutTsx(process.execArgv) });
}

const TSX_FLAGS = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);
// V8 heap sizes (npm start's --max-semi-space-size): a Worker refuses them in execArgv (its limits are resourceLimits).
const HEAP_FLAG = /^--max-(semi-space|old-space|young-generation)-size(=|$)/;

function isTsxSpecifier(spec: string): boolean {
  return spec === 'tsx' || spec.startsWith('tsx/') || /[\\/]node_modules[\\/]tsx[\\/]/.test(spec);
}

function withoutTsx(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    if (HEAP_FLAG.test(arg)) {
      if (!arg.includes('=') && /^\d+$/.test(execArgv[i + 1] ?? '')) i++;
      continue;
    }
    const eq = arg.indexOf('=');
    if (eq > 0 && TSX_FLAGS.has(arg.slice(0, eq)) && isTsxSpecifier(arg.slice(eq + 1))) continue;
    if (TSX_FLAGS.has(arg) && i + 1 < execArgv.length && isTsxSpecifier(execArgv[i + 1]!)) {
      i++;
      continue;
    }
    out.push(arg);
  }
  return out;
}
