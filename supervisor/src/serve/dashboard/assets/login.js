// The login form of a server with tokens: the token goes to a SameSite=Strict cookie (read by
// the server on page loads only; actions send it as an Authorization header), then the page
// loads again. A file of its own so the pages need no inline script.
'use strict';

document.getElementById('login').addEventListener('submit', (e) => {
  e.preventDefault();
  const token = document.getElementById('token').value;
  document.cookie = `stem_token=${encodeURIComponent(token)}; path=/; SameSite=Strict`;
  location.reload();
});
