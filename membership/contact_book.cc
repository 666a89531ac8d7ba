#include "membership/contact_book.h"

#include <iterator>

namespace vigil::membership {

void ContactBook::Note(const std::string& member, std::string_view contact,
                       std::uint64_t incarnation, Source source) {
  if (contact.empty() || incarnation == UINT64_MAX) return;
  auto [it, added] = entries_.try_emplace(member);
  Entry& e = it->second;
  // A stale record (one still going round) must not move a member back where it was, nor
  // another member's word move it from where it says, or was heard, to be.
  if (!added && (e.incarnation > incarnation ||
                 (e.incarnation == incarnation && e.source >= source))) {
    return;
  }
  e.contact.assign(contact);
  e.incarnation = incarnation;
  e.source = source;
}

std::string_view ContactBook::Find(std::string_view member) const {
  const auto it = entries_.find(member);
  return it == entries_.end() ? std::string_view() : std::string_view(it->second.contact);
}

void ContactBook::Prune(const std::function<bool(const std::string&)>& keep) {
  std::erase_if(entries_, [&](const auto& entry) { return !keep(entry.first); });
}

}  // namespace vigil::membership
