import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app/App.js';
import { chooseTransport } from './app/transport.js';
import './styles.css';

const root = document.getElementById('root');
if (!root) throw new Error('index.html lacks #root');

try {
  const { api } = chooseTransport(window);
  createRoot(root).render(
    <StrictMode>
      <App api={api} />
    </StrictMode>,
  );
} catch (error) {
  // No inline HTML: build the message with DOM calls, which the CSP allows.
  const message = document.createElement('p');
  message.className = 'fatal';
  message.textContent = `The dashboard could not start: ${error instanceof Error ? error.message : String(error)}`;
  root.replaceChildren(message);
}
