// CommonJS entry of the piscina workers: loads the ESM worker (src/runtime/worker.ts) with import().
//
// piscina first require()s a worker's filename. On Node 20 a require() of an ES module takes the
// require(esm) path, which once aborted a worker at start under heavy load inside V8 ("IsGraphAsync
// must be used on an instantiated module"). A CommonJS file keeps the workers on plain require(), and
// the ES module comes in through import(), the stable path. The import starts when the worker starts,
// so the kernels are instantiated before the first task arrives, as before.

const loaded = import('./worker.js');
loaded.catch(() => undefined); // observed by the first task, which rejects with the error

type Run = Awaited<typeof loaded>['default'];

module.exports = async function run(message: Parameters<Run>[0]): Promise<ReturnType<Run>> {
  return (await loaded).default(message);
};
