// A table wider than the text column (on a phone, most of them) is shown as one block of labelled
// lines per row instead of hiding columns off the side: each cell is labelled with its column's header
// (tables.css, table.lucid-stacked). Measured again when the window's width changes.
(() => {
  const fit = () => {
    for (const table of document.querySelectorAll(".bd-article table:not(.highlighttable)")) {
      const headCells = [...table.querySelectorAll("thead th")];
      // labels by position need one header row of single cells; other tables keep their scroll box
      if (!headCells.length || table.querySelectorAll("thead tr").length > 1 || headCells.some((th) => th.colSpan > 1)) continue;
      const heads = headCells.map((th) => th.innerText.trim());
      table.querySelectorAll("tbody tr").forEach((row) =>
        [...row.children].forEach((cell, i) => { if (heads[i]) cell.dataset.label = heads[i]; }));
      table.classList.remove("lucid-stacked");
      if (table.scrollWidth > table.parentElement.clientWidth + 1) table.classList.add("lucid-stacked");
    }
  };
  document.addEventListener("DOMContentLoaded", fit);
  window.addEventListener("load", fit);  // again once fonts and images have settled the widths
  let pending;
  window.addEventListener("resize", () => { clearTimeout(pending); pending = setTimeout(fit, 150); });
})();
