/** The access point daemon: what the CLI starts. */
export { AccessPoint, isAlive, readAccessFile, type AccessPointOptions } from './access-point.ts';
