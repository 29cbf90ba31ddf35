/** Calls through warden/client, unwrapped: the data, or an ApiError with the problem's detail. */
import { warden } from './auth'
import type { Schemas } from 'warden/client'

export const api = warden.api
export type { Schemas }

export class ApiError extends Error {
  constructor (readonly status: number, readonly code: string | null, message: string) {
    super(message)
    this.name = 'ApiError'
  }
}

interface Answer<T> { data?: T, error?: unknown, response: Response }

/** The answer's data; throws ApiError on an error answer (problem+json detail shown to the user). */
export async function call<T> (pending: Promise<Answer<T>>): Promise<T> {
  const { data, error, response } = await pending
  if (!response.ok) {
    const problem = (error ?? {}) as { code?: string, detail?: string, title?: string }
    throw new ApiError(response.status, problem.code ?? null, problem.detail ?? problem.title ?? `HTTP ${response.status}`)
  }
  return data as T
}

export const messageOf = (e: unknown) => e instanceof Error ? e.message : String(e)
