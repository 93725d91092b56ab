// NHS.UK frontend's "JavaScript is on" marker, as a file so the Content-Security-Policy
// needs no inline script (loaded synchronously at the top of <body>).
document.body.className += ' js-enabled' + ('noModule' in HTMLScriptElement.prototype ? ' nhsuk-frontend-supported' : '');
