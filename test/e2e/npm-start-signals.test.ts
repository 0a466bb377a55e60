/**
 * `npm start` as the README runs it, stopped as pm2, systemd or a shell script stops it: a signal to the npm
 * process only. npm passes SIGTERM and SIGINT on to its child; the service must be that child (not a `sh -c`
 * that dies and leaves node running), shut down gracefully, and leave nothing behind.
 */
import test from 'tape';
import os from 'node:os';
import path from 'node:path';
import { DrachtioStandIn } from '../support/drachtio';
import { startService, baseServiceEnv, connectedToDrachtio } from '../support/service';
import { findFreePort } from '../support/sipp';
import { ProcInfo, processGroup, processTree, stillRunning } from '../support/processes';

const SECRET = 'cymru';

/** What is left of npm's tree and process group, polled for up to `ms` (npm exits only after its child). */
async function leftovers(npmPid: number, tree: ProcInfo[], ms: number): Promise<ProcInfo[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = [...tree.filter(stillRunning), ...processGroup(npmPid)]
      .filter((p, i, all) => all.findIndex((q) => q.pid === p.pid) === i);
    if (left.length === 0 || Date.now() >= deadline) return left;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function describe(processes: ProcInfo[]): string {
  return processes.map((p) => `${p.pid} (${p.cmdline})`).join(', ');
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`npm start: ${signal} to the npm process reaches the service, which shuts down gracefully; npm exits 0`, async (t) => {
    const standIn = new DrachtioStandIn({ secret: SECRET });
    await standIn.start();
    const service = startService({
      ...baseServiceEnv({ port: standIn.adminPort, secret: SECRET }),
      HTTP_PORT: String(await findFreePort()),
      SBC_SOCKET_PATH: path.join(os.tmpdir(), `sip-sidecar-npm-start-${process.pid}.sock`),
    }, { npmStart: true });
    const npmPid = service.proc.pid as number;
    let tree: ProcInfo[] = [];
    try {
      await service.waitForLog(connectedToDrachtio, 30000);
      tree = processTree(npmPid);
      const node = tree.find((p) => p.pid !== npmPid && p.cmdline.includes('dist/app.js'));
      t.ok(node, `the service runs under npm: ${describe(tree)}`);
      t.ok(node?.cmdline.includes('--heap-growing-percent=100'), 'with the node options of the start script');
      t.equal(standIn.connectedApps(), 1, 'connected to drachtio');

      const result = await service.stop(signal);
      t.deepEqual({ code: result.code, signal: result.signal }, { code: 0, signal: null }, `npm exits 0 (took ${result.ms} ms)`);
      t.ok(service.logs.some((line) => line.msg === 'shutting down' && line.signal === signal),
        `the service logged the start of its graceful shutdown on ${signal}`);
      t.ok(service.logs.some((line) => line.msg === 'shutdown complete'), 'and its end');
      const left = await leftovers(npmPid, tree, 2000);
      t.deepEqual(describe(left), '', 'no process of the tree or of npm\'s process group is left');
      t.equal(standIn.connectedApps(), 0, 'nothing is connected to drachtio any more');
    } finally {
      // On failure, kill exactly what this test started and is still running.
      for (const p of await leftovers(npmPid, tree, 0)) {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await standIn.stop();
    }
  });
}
