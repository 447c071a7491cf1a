export { AccessService, type AccessServiceDeps, type GroupView } from './service.js';
export type { AccessReader, CheckResult, GrantableGroup } from './decisions.js';
export { registerAccessRoutes, type AccessContext } from './routes.js';
export { importAccessFixtures, type ImportResult } from './fixtures.js';
export { loadPolicySet, policyFilesOf, fixturesDirOf } from './policies.js';
export { accessSectionSchema, type AccessConfig } from './config.js';
export { REQUESTABLE_ROLES, type RequestInput } from './workflow.js';
export type * from './types.js';
