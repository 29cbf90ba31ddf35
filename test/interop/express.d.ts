// express 5 ships no types and @types/express is not a dependency: the little the interop test
// (and express-jwt's declarations) use of it.
declare module 'express' {
  import type { IncomingMessage, Server, ServerResponse } from 'node:http'

  export interface Request extends IncomingMessage { auth?: Record<string, unknown> }
  export interface Response extends ServerResponse {
    status: (code: number) => Response
    json: (body: unknown) => Response
  }
  export type NextFunction = (err?: unknown) => void
  export type RequestHandler = (req: Request, res: Response, next: NextFunction) => unknown
  export type ErrorRequestHandler = (err: unknown, req: Request, res: Response, next: NextFunction) => unknown
  export interface Application {
    get: (path: string, ...handlers: RequestHandler[]) => Application
    use: (handler: RequestHandler | ErrorRequestHandler) => Application
    listen: (port: number, host: string, callback?: (err?: Error) => void) => Server
  }

  export default function express (): Application
}
