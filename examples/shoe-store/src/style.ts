/** The one stylesheet: readable at 375 px, focus always visible, text contrast above 4.5:1. */
export const STYLESHEET = `
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a1a1a;background:#fff}
a{color:#0b57d0}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,textarea:focus-visible{outline:3px solid #b3261e;outline-offset:2px}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;padding:4px}
header{background:#1b3a2f;color:#fff;padding:8px 16px;display:flex;flex-wrap:wrap;gap:8px 16px;align-items:center}
header a{color:#fff}
header button{border:1px solid #fff}
header .brand{font-weight:700;font-size:1.2rem;text-decoration:none;margin-right:auto}
header form{display:flex;gap:4px;align-items:center;margin:0}
header nav ul{display:flex;gap:12px;list-style:none;margin:0;padding:0}
main{max-width:960px;margin:0 auto;padding:16px}
footer{border-top:1px solid #ccc;padding:16px;color:#444;font-size:.9rem;text-align:center}
h1{font-size:1.6rem;margin:.5rem 0 1rem}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:16px;list-style:none;padding:0}
.card{border:1px solid #ccc;border-radius:8px;padding:8px}
.card img,.pictures img{max-width:100%;height:auto;display:block}
.pictures{display:flex;flex-wrap:wrap;gap:8px}
button,.button{background:#1b3a2f;color:#fff;border:0;border-radius:6px;padding:8px 14px;font:inherit;cursor:pointer;text-decoration:none;display:inline-block}
button.secondary{background:#fff;color:#1b3a2f;border:2px solid #1b3a2f}
input,select,textarea{font:inherit;padding:6px;border:1px solid #666;border-radius:4px;max-width:100%}
label{display:block;margin:.5rem 0 .2rem}
fieldset{border:1px solid #ccc;border-radius:6px;margin:0 0 12px;padding:8px 12px}
fieldset label,.choice label{display:inline-flex;gap:6px;align-items:center;margin:4px 12px 4px 0}
.hint{color:#555;font-size:.9rem}
.alert,.card-errors:not(:empty){border:2px solid #b3261e;background:#fdecea;color:#5f1410;padding:8px 12px;border-radius:6px}
.card-element{display:grid;gap:2px;max-width:360px;margin:4px 0 8px}
.card-element label{display:block;margin:.3rem 0 0}
.note{border:2px solid #1b3a2f;background:#eef6f1;padding:8px 12px;border-radius:6px}
dl.totals{display:grid;grid-template-columns:1fr auto;gap:4px 16px;max-width:360px}
dl.totals dd{margin:0;text-align:right}
dl.totals .total{font-weight:700}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:6px;border-bottom:1px solid #ddd;vertical-align:top}
nav[aria-label="Colour"] ul{display:flex;gap:12px;list-style:none;padding:0}
nav[aria-label="Colour"] a[aria-current="true"]{font-weight:700;text-decoration-thickness:3px}
.filters{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
.card-title{font-size:1.1rem;margin:.4rem 0}
.price{font-size:1.3rem}
.flush{margin:0}
.left{text-align:left}
.qty{width:4.5em}
.row{display:flex;gap:12px;list-style:none;padding:0;flex-wrap:wrap}
.inline{display:inline}
@media (max-width:600px){header nav ul{gap:8px}main{padding:12px}}
`
