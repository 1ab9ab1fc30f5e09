// A table wider than the text column (on a phone, most of them) is shown as one block of labelled
// lines per row instead of hiding columns off the side: each cell is labelled with its column's header
// (tables.css, table.lucid-stacked). Measured again when the window's width changes.
(() => {
  const fit = () => {
    for (const table of document.querySelectorAll(".bd-article table:not(.highlighttable)")) {
      const heads = [...table.querySelectorAll("thead tr:last-child th")].map((th) => th.innerText.trim());
      if (!heads.length) continue;
      table.querySelectorAll("tbody tr").forEach((row) =>
        [...row.children].forEach((cell, i) => { if (heads[i]) cell.dataset.label = heads[i]; }));
      table.classList.remove("lucid-stacked");
      if (table.scrollWidth > table.parentElement.clientWidth + 1) table.classList.add("lucid-stacked");
    }
  };
  document.addEventListener("DOMContentLoaded", fit);
  let pending;
  window.addEventListener("resize", () => { clearTimeout(pending); pending = setTimeout(fit, 150); });
})();
