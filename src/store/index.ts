/**
 * The durable job queue (DESIGN.md decision 2): the interface the AP
 * programs against and its SQLite implementation. Everything outside
 * src/store imports from here.
 */
export * from './job-queue.ts';
export { openJobQueue, type OpenJobQueueOptions } from './sqlite-job-queue.ts';
export { MIGRATIONS, type Migration } from './migrations.ts';
