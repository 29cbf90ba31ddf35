/**
 * The decision engine: pure functions over plain data, no I/O. Compile the role graph when roles
 * change, build an EffectiveSet per (user, tenant) and cache it until `nextExpiry` or a change,
 * resolve route requirements at registration, then decide with Map lookups.
 */
export {
  isValidPermissionName,
  isWildcard,
  permissionCovers,
  permissionRef,
  type PermissionRef
} from './permissions.js'
export {
  CONDITION_LIMITS,
  compileCondition,
  validateCondition,
  type Condition,
  type ConditionContext,
  type ConditionTest,
  type ConditionValidation,
  type RequestContext,
  type ResourceContext,
  type Scalar,
  type TimeCondition
} from './conditions.js'
export { ConditionSchema, TimeConditionSchema } from './condition-schema.js'
export {
  DuplicateRoleError,
  InvalidConditionError,
  InvalidPermissionError,
  RoleCycleError,
  UnknownRoleError,
  type ConditionError
} from './errors.js'
export { ALLOWED, type Decision, type DecisionCode } from './decision.js'
export {
  EffectiveSet,
  type Assignment,
  type GrantExplanation,
  type PermissionExplanation
} from './effective.js'
export {
  MAX_PATHS_PER_GRANT,
  compileRoleGraph,
  wouldCreateCycle,
  type CompileOptions,
  type GrantInput,
  type RoleGraph,
  type RoleInput
} from './graph.js'
export { ScopeSet, intersectScopes } from './scopes.js'
export {
  allowsUnconditionally,
  checkRequirement,
  compileRequirement,
  decide,
  type DecisionContext,
  type Requirement,
  type RequirementDeclaration
} from './decide.js'
export {
  EffectTally,
  Holdings,
  applyRoleChange,
  concreteExpander,
  diffSubject,
  rolesReaching,
  type Effect,
  type RoleChange,
  type SubjectEffects,
  type SubjectInputs
} from './what-if.js'
