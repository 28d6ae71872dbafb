// Entry of the publisher thread (publisher-thread.ts). @platformatic/kafka is loaded by Node itself,
// before tsx's loader hooks are registered: through them its ~300 modules take twice as long, and this
// load is on the path to the first commit. The TypeScript entry then loads through tsx.
await import('@platformatic/kafka');
const { register } = await import('tsx/esm/api');
register();
await import('./publisher-worker.ts');
