// Preload for A/B profiling (`node --import ./bench/cpu-profile.mjs`, or through NODE_OPTIONS,
// which refuses --cpu-prof): V8 CPU profile of the whole process, written to
// $IOV_CPU_PROFILE_DIR/<pid>.cpuprofile when it exits (open in Chrome DevTools or summarise
// with bench/cpu-profile-top.mjs). The in-process inspector session answers synchronously,
// so the profile is complete even from an 'exit' handler.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env.IOV_CPU_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  session.post('Profiler.start');
  process.on('exit', () => {
    session.post('Profiler.stop', (err, res) => {
      if (!err) writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(res.profile));
    });
  });
}
