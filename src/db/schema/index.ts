export * from './identity.js'
export * from './rbac.js'
export * from './tokens.js'
export * from './audit.js'
