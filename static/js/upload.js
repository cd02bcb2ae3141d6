// Progressive enhancement of the upload form: drag and drop, a list of the chosen files, and early
// warnings about the limits. The server checks everything again; without this file the form still works.
// Its words come from the form's data attributes, translated by the page; {placeholders} are filled here.
(function () {
  "use strict";

  const form = document.querySelector("[data-upload-form]");
  if (!form) return;
  const input = form.querySelector("input[type=file]");
  const zone = form.querySelector("[data-drop-zone]");
  const list = form.querySelector("[data-chosen-files]");
  const problem = form.querySelector("[data-client-error]");
  const button = form.querySelector("[data-upload-button]");
  const maxFiles = Number(form.dataset.maxFiles);
  const maxBytes = Number(form.dataset.maxBytes);
  const language = document.documentElement.lang || undefined;

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, name) {
      return name in values ? String(values[name]) : whole;
    });
  }

  // As the server words sizes (scans.validation.format_size): binary units, one decimal at most,
  // the number written as the page's language writes it.
  function readableSize(bytes) {
    const units = [[form.dataset.sizeMb, 1024 * 1024], [form.dataset.sizeKb, 1024]];
    for (const [template, factor] of units) {
      if (bytes >= factor) {
        const number = Number((bytes / factor).toFixed(1)).toLocaleString(language, {maximumFractionDigits: 1});
        return fill(template, {size: number});
      }
    }
    return fill(form.dataset.sizeBytes, {size: bytes.toLocaleString(language)});
  }

  function problems(files) {
    const found = [];
    if (files.length > maxFiles) {
      found.push(fill(form.dataset.tooMany, {count: files.length}));
    }
    for (const file of files) {
      if (file.size > maxBytes) {
        found.push(fill(form.dataset.tooBig, {filename: file.name, size: readableSize(file.size)}));
      }
    }
    return found;
  }

  function showChosen() {
    const files = Array.from(input.files);
    list.replaceChildren(...files.map(function (file) {
      const item = document.createElement("li");
      item.textContent = file.name + " (" + readableSize(file.size) + ")";
      return item;
    }));
    const found = problems(files);
    problem.textContent = found.join(" ");
    problem.hidden = found.length === 0;
  }

  input.addEventListener("change", showChosen);

  zone.querySelector("[data-drop-hint]").hidden = false;
  zone.addEventListener("dragover", function (event) {
    event.preventDefault();
    zone.classList.add("is-dragging");
  });
  zone.addEventListener("dragleave", function () {
    zone.classList.remove("is-dragging");
  });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    zone.classList.remove("is-dragging");
    input.files = event.dataTransfer.files;
    showChosen();
  });

  form.addEventListener("submit", function (event) {
    // Too many files would be refused by the server before the form could explain why.
    if (input.files.length > maxFiles) {
      event.preventDefault();
      showChosen();
      problem.focus();
      return;
    }
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    button.textContent = form.dataset.uploading;
  });
})();
