import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { answerParentIfSilentCallback } from './auth'
import { App } from './App'
import './styles.css'

// In the hidden frame of a silent sign-in, the callback only hands its URL to the console.
if (!answerParentIfSilentCallback()) {
  createRoot(document.getElementById('root')!).render(<StrictMode><App /></StrictMode>)
}
