/** The access point client: what the CLI and web page use to talk to an AP. */
export { ApClient } from './ap-client.ts';
