// jest loads global setup/teardown with Node's own resolver, which does not map our `.js` import
// specifiers to `.ts` sources; tsx's loader does.
import { register } from 'tsx/esm/api';

register();
const { default: hook } = await import('./global-setup.ts');
export default hook;
