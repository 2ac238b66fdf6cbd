'use strict';
// The helper process of local/job-launcher.ts (plain CommonJS: it is forked as is, from the
// sources in tests and from dist/ in local mode). It starts each job's process on request and
// reports its pid and its exit; the job writes its output straight into its log file. Forking this
// small process is cheap, where forking local mode itself costs tens of milliseconds of the
// event loop per job.
const { spawn } = require('node:child_process');
const { closeSync, openSync } = require('node:fs');

const report = (message) => {
  if (process.connected) process.send(message);
};

process.on('message', (message) => {
  if (!message || message.type !== 'run') return;
  const { id, executable, args, env, logFile } = message;
  let output;
  try {
    output = openSync(logFile, 'a');
  } catch (error) {
    report({ type: 'error', id, code: error.code, message: `cannot open the job's log ${logFile}: ${error.message}` });
    return;
  }
  let child;
  try {
    // Its own process group (detached), so that a signal to the group reaches a shell's children too.
    child = spawn(executable, args, { env, stdio: ['ignore', output, output], detached: true });
  } catch (error) {
    report({ type: 'error', id, code: error.code, message: error.message });
    return;
  } finally {
    // The child has its own copy of the descriptor once spawn returns.
    closeSync(output);
  }
  let spawned = false;
  child.once('spawn', () => {
    spawned = true;
    report({ type: 'spawn', id, pid: child.pid });
  });
  child.on('error', (error) => {
    if (!spawned) report({ type: 'error', id, code: error.code, message: error.message });
  });
  child.once('exit', (code, signal) => report({ type: 'exit', id, code, signal }));
});

// Local mode stopped or crashed: nothing is left to report to. The jobs' processes lead their own
// groups and are not stopped here: local Batch stops them (on close, or at the next start).
process.on('disconnect', () => process.exit(0));
