/** Errors thrown while compiling authorization data; the HTTP layer maps them to 400/409. */

export class RoleCycleError extends Error {
  readonly code = 'ROLE_CYCLE'
  /** the roles on the cycle, first and last equal, e.g. ['a', 'b', 'a'] */
  readonly cycle: string[]

  constructor (cycle: string[]) {
    super(`role inheritance cycle: ${cycle.join(' -> ')}`)
    this.name = 'RoleCycleError'
    this.cycle = cycle
  }
}

export class UnknownRoleError extends Error {
  readonly code = 'UNKNOWN_ROLE'
  readonly role: string
  readonly referencedBy: string

  constructor (role: string, referencedBy: string) {
    super(`role ${referencedBy} inherits unknown role ${role}`)
    this.name = 'UnknownRoleError'
    this.role = role
    this.referencedBy = referencedBy
  }
}

export class DuplicateRoleError extends Error {
  readonly code = 'DUPLICATE_ROLE'
  readonly role: string

  constructor (role: string) {
    super(`role ${role} is defined more than once`)
    this.name = 'DuplicateRoleError'
    this.role = role
  }
}

export class InvalidPermissionError extends Error {
  readonly code = 'INVALID_PERMISSION'
  readonly permission: string

  constructor (permission: string, where?: string) {
    super(`invalid permission name ${JSON.stringify(permission)}${where === undefined ? '' : ` in ${where}`}`)
    this.name = 'InvalidPermissionError'
    this.permission = permission
  }
}

export interface ConditionError {
  /** JSON Pointer into the condition, '' for the condition itself */
  path: string
  message: string
}

export class InvalidConditionError extends Error {
  readonly code = 'INVALID_CONDITION'
  readonly errors: ConditionError[]

  constructor (errors: ConditionError[], where?: string) {
    const first = errors[0]
    super(`invalid condition${where === undefined ? '' : ` in ${where}`}: ` +
      `${first === undefined ? 'unknown error' : `${first.path || '(root)'} ${first.message}`}`)
    this.name = 'InvalidConditionError'
    this.errors = errors
  }
}
