// The tenants' SQL lives in their repository; these stay importable from here.
export { defaultTenant, findTenant, type Tenant } from '../repositories/tenants.js'
