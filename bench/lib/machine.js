// The facts a benchmark result is meaningless without: CPU, cores, memory, runtime versions.
'use strict';

const fs = require('fs');
const os = require('os');
const childProcess = require('child_process');
const { denoBinary } = require('../../host/paths');

function machineFacts() {
    const cpus = os.cpus();
    let deno = 'unknown';
    try {
        deno = childProcess.execFileSync(denoBinary(), ['--version'], { encoding: 'utf8' }).split('\n')[0].replace(/^deno\s+/, '').trim();
    } catch {
        // keep "unknown": the benchmark itself would have failed to start the runtime
    }
    const engine = require('@rocket.chat/apps-engine/package.json').version;
    return {
        cpu: cpus.length ? cpus[0].model.trim() : 'unknown',
        cores: cpus.length,
        memoryGiB: (os.totalmem() / 2 ** 30).toFixed(1),
        os: `${os.type()} ${os.release()} ${os.arch()}`,
        node: process.version,
        deno,
        engine,
    };
}

/** Resident memory of a process in MiB (Linux /proc), or NaN when unreadable. */
function rssMiB(pid, field = 'VmRSS') {
    try {
        const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
        const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
        return match ? Number(match[1]) / 1024 : NaN;
    } catch {
        return NaN;
    }
}

module.exports = { machineFacts, rssMiB };
