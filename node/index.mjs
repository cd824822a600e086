// The ES module face of index.js: one implementation, so `import` and `require` share state
// (the live heartbeats a stop signal stops).
import hbmon from './index.js';

export const { beat, Heartbeat, job, transport } = hbmon;
export default hbmon;
